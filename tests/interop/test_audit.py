"""The audit trail: one CloudTrail-shaped record per call, no secrets in it, and
`kms-server audit verify` catches changed, deleted and reordered records."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from kms_helpers import KmsServer, audit_cli, audit_events, make_client

SECRET = b"audit-canary-plaintext-\x00\x01\x02-7f3e9c"


@pytest.fixture
def trail(server_bin, tmp_path):
    """A fresh server that has served a known set of calls and been stopped."""
    srv = KmsServer(binary=server_bin, data_dir=tmp_path / "data").start()
    kms = make_client(srv.endpoint)
    key = kms.create_key(Description="audited")["KeyMetadata"]
    ids = [("CreateKey", None)]
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=SECRET, EncryptionContext={"purpose": "audit"})
    ids.append(("Encrypt", ct["ResponseMetadata"]["RequestId"]))
    pt = kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext={"purpose": "audit"})
    assert pt["Plaintext"] == SECRET
    ids.append(("Decrypt", pt["ResponseMetadata"]["RequestId"]))
    dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    ids.append(("GenerateDataKey", dk["ResponseMetadata"]["RequestId"]))
    with pytest.raises(ClientError) as denied:
        kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext={"purpose": "wrong"})
    ids.append(("Decrypt", denied.value.response["ResponseMetadata"]["RequestId"]))
    bad = make_client(srv.endpoint, secret_key="not-the-secret")
    with pytest.raises(ClientError):
        bad.list_keys()
    assert srv.stop() == 0, srv.log_tail()
    return {
        "server": srv,
        "key": key,
        "ids": ids,
        "secrets": [SECRET, dk["Plaintext"], ct["CiphertextBlob"]],
    }


def test_every_call_is_recorded_once_in_cloudtrail_shape(server_bin, trail):
    events = audit_events(server_bin, trail["server"].data_dir)
    assert [e["eventName"] for e in events] == [
        "CreateKey", "Encrypt", "Decrypt", "GenerateDataKey", "Decrypt", "ListKeys",
    ]
    by_id = {e["requestID"]: e for e in events}
    for name, request_id in trail["ids"][1:]:
        assert by_id[request_id]["eventName"] == name
    encrypt = by_id[trail["ids"][1][1]]
    assert encrypt["eventSource"] == "kms.amazonaws.com"
    assert encrypt["userIdentity"]["type"] == "Root"
    assert encrypt["userIdentity"]["accountId"] == "000000000000"
    assert encrypt["userIdentity"]["accessKeyId"] == "test"
    assert encrypt["requestParameters"]["encryptionContext"] == {"purpose": "audit"}
    assert encrypt["resources"][0]["ARN"] == trail["key"]["Arn"]
    assert encrypt["additionalEventData"]["keyMaterialVersion"] == 1
    assert encrypt["sourceIPAddress"] == "127.0.0.1"
    assert "Boto3" in encrypt["userAgent"] or "botocore" in encrypt["userAgent"]
    denied = by_id[trail["ids"][4][1]]
    assert denied["errorCode"] == "InvalidCiphertextException"
    unauthenticated = events[-1]
    assert unauthenticated["errorCode"] == "InvalidSignatureException"
    assert unauthenticated["userIdentity"]["type"] == "Unknown"
    assert len({e["eventID"] for e in events}) == len(events)


def test_no_plaintext_or_key_material_in_the_trail_or_the_log(trail):
    srv = trail["server"]
    blobs = [p.read_bytes() for p in (srv.data_dir / "audit").iterdir()]
    blobs.append(srv.log_path.read_bytes())
    needles = []
    for secret in trail["secrets"]:
        needles += [secret, base64.b64encode(secret), secret.hex().encode()]
    for blob in blobs:
        for needle in needles:
            assert needle not in blob


def test_audit_verify_passes_an_untouched_trail(server_bin, trail):
    out = audit_cli(server_bin, "verify", "--data", str(trail["server"].data_dir))
    assert out.returncode == 0, out.stderr
    assert "6 records" in out.stdout and "0 records after the last digest" in out.stdout


def _records_file(data_dir: Path) -> Path:
    (segment,) = sorted((data_dir / "audit").glob("records-*.log"))
    return segment


def _edit_records(data_dir: Path, edit) -> None:
    """Rewrites the records file (one record per line: `<seq> <hash> <event JSON>`)."""
    path = _records_file(data_dir)
    lines = path.read_text().splitlines()
    edit(lines)
    path.write_text("".join(line + "\n" for line in lines))


def _change(lines):
    lines[2] = lines[2].replace("Decrypt", "Encrypt")


def _swap_events(lines):
    heads = [line.split(" ", 2) for line in lines[1:3]]
    lines[1] = " ".join(heads[0][:2] + [heads[1][2]])
    lines[2] = " ".join(heads[1][:2] + [heads[0][2]])


def _forge_digest(data_dir: Path) -> None:
    path = data_dir / "audit" / "digests.log"
    path.write_text(path.read_text().replace('"lastSeq":6', '"lastSeq":5'))


TAMPERING = {
    "changed": lambda d: _edit_records(d, _change),
    "deleted": lambda d: _edit_records(d, lambda lines: lines.pop(1)),
    "deleted-last": lambda d: _edit_records(d, lambda lines: lines.pop()),
    "reordered": lambda d: _edit_records(d, _swap_events),
    "forged-digest": _forge_digest,
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_audit_verify_catches_tampering(server_bin, trail, how):
    data_dir = trail["server"].data_dir
    TAMPERING[how](data_dir)
    out = audit_cli(server_bin, "verify", "--data", str(data_dir))
    assert out.returncode != 0
    assert "does not verify" in out.stderr


def test_audit_lookup_filters_by_event_name_and_key(server_bin, trail):
    data_dir = str(trail["server"].data_dir)
    out = audit_cli(
        server_bin, "lookup", "--data", data_dir, "--account", "000000000000", "--event-name", "Decrypt"
    )
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 2
    out = audit_cli(
        server_bin, "lookup", "--data", data_dir, "--account", "000000000000", "--key-arn", trail["key"]["Arn"]
    )
    names = [line for line in out.stdout.splitlines()]
    assert len(names) == 5  # every call but the unauthenticated ListKeys names the key
    assert all(trail["key"]["Arn"] in line for line in names)


def test_each_decision_is_recorded_with_its_reason_and_statement(server_bin, tmp_path):
    srv = KmsServer(binary=server_bin, data_dir=tmp_path / "data").start()
    kms = make_client(srv.endpoint)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "NoDecryptOutsideBilling",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"kms:EncryptionContext:dept": "billing"}},
            },
        ],
    }
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"dept": "sales"})
    with pytest.raises(ClientError) as denied:
        kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext={"dept": "sales"})
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert srv.stop() == 0, srv.log_tail()
    events = {e["requestID"]: e for e in audit_events(server_bin, srv.data_dir)}

    allowed = events[ct["ResponseMetadata"]["RequestId"]]["additionalEventData"]["authorization"]
    assert allowed[0]["action"] == "kms:Encrypt" and allowed[0]["allowed"] is True
    assert allowed[0]["resource"] == key["Arn"]
    assert allowed[0]["decidingStatements"][0]["sid"] == "Enable IAM User Permissions"

    refused = events[denied.value.response["ResponseMetadata"]["RequestId"]]
    assert refused["errorCode"] == "AccessDeniedException"
    why = refused["additionalEventData"]["authorization"][0]
    assert why["allowed"] is False and why["reason"] == "ExplicitDenyInKeyPolicy"
    assert why["decidingStatements"][0]["sid"] == "NoDecryptOutsideBilling"


def test_iam_and_sts_calls_are_recorded_without_their_secrets(server_bin, tmp_path):
    import boto3
    from botocore.config import Config

    srv = KmsServer(binary=server_bin, data_dir=tmp_path / "data").start()

    def client(service, access_key="test", secret_key="test", token=None):
        return boto3.session.Session().client(
            service,
            endpoint_url=srv.endpoint,
            region_name="us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=token,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )

    iam = client("iam")
    iam.create_user(UserName="auditor")
    created = iam.create_access_key(UserName="auditor")["AccessKey"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(trust))
    assumed = client("sts").assume_role(
        RoleArn="arn:aws:iam::000000000000:role/app", RoleSessionName="s1", ExternalId="extern-secret-42"
    )["Credentials"]
    who = client("sts", assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])
    assert who.get_caller_identity()["Arn"].endswith(":assumed-role/app/s1")
    with pytest.raises(ClientError):
        iam.get_user(UserName="nobody")
    assert srv.stop() == 0, srv.log_tail()

    events = audit_events(server_bin, srv.data_dir)
    assert [(e["eventSource"], e["eventName"]) for e in events] == [
        ("iam.amazonaws.com", "CreateUser"),
        ("iam.amazonaws.com", "CreateAccessKey"),
        ("iam.amazonaws.com", "CreateRole"),
        ("sts.amazonaws.com", "AssumeRole"),
        ("sts.amazonaws.com", "GetCallerIdentity"),
        ("iam.amazonaws.com", "GetUser"),
    ]
    assert events[0]["requestParameters"] == {"userName": "auditor"}
    assert events[4]["userIdentity"]["type"] == "AssumedRole"
    assert events[5]["errorCode"] == "NoSuchEntity"
    trail_bytes = b"".join(p.read_bytes() for p in (srv.data_dir / "audit").iterdir())
    for secret in [created["SecretAccessKey"], assumed["SecretAccessKey"], assumed["SessionToken"], "extern-secret-42"]:
        assert secret.encode() not in trail_bytes
    out = audit_cli(server_bin, "verify", "--data", str(srv.data_dir))
    assert out.returncode == 0, out.stderr


def test_acknowledged_calls_survive_sigkill_and_the_trail_continues(server_bin, tmp_path):
    """Calls answered before a SIGKILL are in the trail after it; the trail still verifies
    and the restarted server continues the chain."""
    import threading

    srv = KmsServer(binary=server_bin, data_dir=tmp_path / "data").start()
    kms = make_client(srv.endpoint, fresh_session=True)
    key = kms.create_key(Description="killed")["KeyMetadata"]["KeyId"]
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker():
        client = make_client(srv.endpoint, fresh_session=True)
        while not stop.is_set():
            try:
                out = client.generate_data_key(KeyId=key, KeySpec="AES_256")
            except Exception:  # the server died under us
                return
            with lock:
                acknowledged.append(out["ResponseMetadata"]["RequestId"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    while True:
        with lock:
            if len(acknowledged) >= 300:
                break
        time.sleep(0.01)
    srv.kill()  # while the workers are still sending
    stop.set()
    for t in threads:
        t.join(timeout=30)
    with lock:
        answered = list(acknowledged)

    srv.start()
    after = make_client(srv.endpoint, fresh_session=True).generate_data_key(KeyId=key, KeySpec="AES_256")
    assert srv.stop() == 0, srv.log_tail()
    out = audit_cli(server_bin, "verify", "--data", str(srv.data_dir))
    assert out.returncode == 0, out.stderr
    in_trail = {e["requestID"] for e in audit_events(server_bin, srv.data_dir)}
    missing = [r for r in answered if r not in in_trail]
    assert not missing, f"{len(missing)} of {len(answered)} answered calls are not in the trail"
    assert after["ResponseMetadata"]["RequestId"] in in_trail
