"""The same operations through the AWS CLI (`aws kms ... --endpoint-url`), at least once each,
plus a few error exits. The CLI takes about half a second per call, so results are checked
with boto3 where that saves an invocation (about 40 CLI calls in all).

All CLI work happens in us-west-2, a Region no other test uses, so listings are exact."""

from __future__ import annotations

import base64
import json

import pytest

from kms_helpers import key_arn, unique_alias

pytestmark = pytest.mark.cli

REGION = "us-west-2"


def arn(key_id: str) -> str:
    return key_arn(key_id, region=REGION)


def expect_cli_error(result, code: str) -> None:
    assert result.returncode != 0, f"expected {code}, got success: {result.stdout}"
    assert f"({code})" in result.stderr, result.stderr


@pytest.fixture(scope="module")
def cli(aws):
    def run(*args, **kwargs):
        kwargs.setdefault("region", REGION)
        return aws(*args, **kwargs)

    return run


@pytest.fixture(scope="module")
def boto(client_factory):
    return client_factory(region=REGION)


@pytest.fixture(scope="module")
def cli_key(cli):
    out = cli(
        "create-key",
        "--description",
        "made by the CLI",
        "--tags",
        "TagKey=team,TagValue=cli",
        "TagKey=env,TagValue=test",
    ).data["KeyMetadata"]
    assert out["KeyState"] == "Enabled" and out["Arn"] == arn(out["KeyId"])
    return out["KeyId"]


def test_cli_describe_and_list_keys(cli, boto, cli_key):
    md = cli("describe-key", "--key-id", arn(cli_key)).data["KeyMetadata"]
    assert md["KeyId"] == cli_key
    assert md["Description"] == "made by the CLI"
    assert md["KeySpec"] == "SYMMETRIC_DEFAULT"
    others = {boto.create_key()["KeyMetadata"]["KeyId"] for _ in range(2)}
    # --page-size 1 makes the CLI follow NextMarker through every page.
    listed = cli("list-keys", "--page-size", "1").data["Keys"]
    ids = [k["KeyId"] for k in listed]
    assert len(ids) == len(set(ids))
    assert {cli_key, *others} <= set(ids)
    assert all(k["KeyArn"] == arn(k["KeyId"]) for k in listed)


def test_cli_update_disable_enable(cli, boto, cli_key, tmp_path):
    cli("update-key-description", "--key-id", cli_key, "--description", "renamed by the CLI")
    assert boto.describe_key(KeyId=cli_key)["KeyMetadata"]["Description"] == "renamed by the CLI"
    cli("disable-key", "--key-id", cli_key)
    assert boto.describe_key(KeyId=cli_key)["KeyMetadata"]["KeyState"] == "Disabled"
    (tmp_path / "p.bin").write_bytes(b"x")
    expect_cli_error(
        cli("encrypt", "--key-id", cli_key, "--plaintext", f"fileb://{tmp_path / 'p.bin'}", check=False),
        "DisabledException",
    )
    cli("enable-key", "--key-id", cli_key)
    assert boto.describe_key(KeyId=cli_key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_cli_aliases(cli, boto, cli_key):
    other = boto.create_key()["KeyMetadata"]["KeyId"]
    name = unique_alias("cli")
    cli("create-alias", "--alias-name", name, "--target-key-id", cli_key)
    listed = cli("list-aliases", "--key-id", cli_key).data["Aliases"]
    assert [(a["AliasName"], a["TargetKeyId"]) for a in listed if a["AliasName"] == name] == [(name, cli_key)]
    expect_cli_error(cli("create-alias", "--alias-name", name, "--target-key-id", other, check=False), "AlreadyExistsException")
    expect_cli_error(
        cli("create-alias", "--alias-name", "no-prefix", "--target-key-id", other, check=False), "ValidationException"
    )
    cli("update-alias", "--alias-name", name, "--target-key-id", other)
    assert boto.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == other
    cli("delete-alias", "--alias-name", name)
    assert all(a["AliasName"] != name for a in boto.list_aliases()["Aliases"])


def test_cli_tags(cli, boto, cli_key):
    cli("tag-resource", "--key-id", cli_key, "--tags", "TagKey=owner,TagValue=carol", "TagKey=team,TagValue=ops")
    tags = cli("list-resource-tags", "--key-id", cli_key).data["Tags"]
    assert {t["TagKey"]: t["TagValue"] for t in tags} == {"team": "ops", "env": "test", "owner": "carol"}
    cli("untag-resource", "--key-id", cli_key, "--tag-keys", "env", "owner")
    assert boto.list_resource_tags(KeyId=cli_key)["Tags"] == [{"TagKey": "team", "TagValue": "ops"}]


def test_cli_crypto(cli, boto, cli_key, tmp_path):
    plaintext = b"secret from the CLI \x00\xff"
    (tmp_path / "plain.bin").write_bytes(plaintext)
    enc = cli(
        "encrypt",
        "--key-id",
        cli_key,
        "--plaintext",
        f"fileb://{tmp_path / 'plain.bin'}",
        "--encryption-context",
        "purpose=cli,stage=one",
    ).data
    assert enc["KeyId"] == arn(cli_key)
    blob_path = tmp_path / "blob.bin"
    blob_path.write_bytes(base64.b64decode(enc["CiphertextBlob"]))

    dec = cli(
        "decrypt", "--ciphertext-blob", f"fileb://{blob_path}", "--encryption-context", "stage=one,purpose=cli"
    ).data
    assert base64.b64decode(dec["Plaintext"]) == plaintext
    assert dec["KeyId"] == arn(cli_key)
    expect_cli_error(
        cli("decrypt", "--ciphertext-blob", f"fileb://{blob_path}", "--encryption-context", "purpose=other", check=False),
        "InvalidCiphertextException",
    )

    other = boto.create_key()["KeyMetadata"]["KeyId"]
    re = cli(
        "re-encrypt",
        "--ciphertext-blob",
        f"fileb://{blob_path}",
        "--source-encryption-context",
        "purpose=cli,stage=one",
        "--destination-key-id",
        other,
    ).data
    assert re["SourceKeyId"] == arn(cli_key) and re["KeyId"] == arn(other)
    assert boto.decrypt(CiphertextBlob=base64.b64decode(re["CiphertextBlob"]))["Plaintext"] == plaintext

    gdk = cli("generate-data-key", "--key-id", cli_key, "--key-spec", "AES_256").data
    assert len(base64.b64decode(gdk["Plaintext"])) == 32
    assert boto.decrypt(CiphertextBlob=base64.b64decode(gdk["CiphertextBlob"]))["Plaintext"] == base64.b64decode(
        gdk["Plaintext"]
    )
    gdkwp = cli("generate-data-key-without-plaintext", "--key-id", cli_key, "--number-of-bytes", "16").data
    assert "Plaintext" not in gdkwp
    assert len(boto.decrypt(CiphertextBlob=base64.b64decode(gdkwp["CiphertextBlob"]))["Plaintext"]) == 16

    rnd = cli("generate-random", "--number-of-bytes", "48").data
    assert len(base64.b64decode(rnd["Plaintext"])) == 48


def test_cli_rotation(cli, boto, cli_key):
    before = boto.encrypt(KeyId=cli_key, Plaintext=b"pre-rotation")["CiphertextBlob"]
    cli("enable-key-rotation", "--key-id", cli_key, "--rotation-period-in-days", "180")
    status = cli("get-key-rotation-status", "--key-id", cli_key).data
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180
    cli("rotate-key-on-demand", "--key-id", cli_key)
    rotations = cli("list-key-rotations", "--key-id", cli_key).data["Rotations"]
    assert len(rotations) == 1 and rotations[0]["RotationType"] == "ON_DEMAND"
    assert rotations[0]["KeyMaterialId"] == boto.describe_key(KeyId=cli_key)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert boto.decrypt(CiphertextBlob=before)["Plaintext"] == b"pre-rotation"
    cli("disable-key-rotation", "--key-id", cli_key)
    assert boto.get_key_rotation_status(KeyId=cli_key)["KeyRotationEnabled"] is False


def test_cli_policies(cli, cli_key, tmp_path):
    policy = cli("get-key-policy", "--key-id", cli_key, "--policy-name", "default").data["Policy"]
    assert json.loads(policy)["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::000000000000:root"
    new_policy = json.loads(policy)
    new_policy["Statement"][0]["Sid"] = "Set by the CLI"
    (tmp_path / "policy.json").write_text(json.dumps(new_policy))
    cli("put-key-policy", "--key-id", cli_key, "--policy-name", "default", "--policy", f"file://{tmp_path / 'policy.json'}")
    assert cli("list-key-policies", "--key-id", cli_key).data["PolicyNames"] == ["default"]
    (tmp_path / "bad.json").write_text("{ this is not a policy")
    expect_cli_error(
        cli(
            "put-key-policy", "--key-id", cli_key, "--policy-name", "default", "--policy", f"file://{tmp_path / 'bad.json'}",
            check=False,
        ),
        "MalformedPolicyDocumentException",
    )


def test_cli_deletion(cli, boto):
    key_id = boto.create_key()["KeyMetadata"]["KeyId"]
    out = cli("schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "7").data
    assert out["KeyId"] == arn(key_id) and out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    expect_cli_error(
        cli("schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "7", check=False),
        "KMSInvalidStateException",
    )
    assert cli("cancel-key-deletion", "--key-id", key_id).data["KeyId"] == arn(key_id)
    assert boto.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    expect_cli_error(
        cli("schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "3", check=False),
        "ValidationException",
    )


def test_cli_error_exits(cli):
    missing = "11111111-2222-3333-4444-555555555555"
    result = cli("describe-key", "--key-id", missing, check=False)
    expect_cli_error(result, "NotFoundException")
    assert f"Key '{arn(missing)}' does not exist" in result.stderr
    expect_cli_error(cli("list-keys", secret_key="wrong-secret", check=False), "InvalidSignatureException")
    expect_cli_error(
        cli("list-keys", access_key="AKIANOBODY0000000000", check=False), "UnrecognizedClientException"
    )
