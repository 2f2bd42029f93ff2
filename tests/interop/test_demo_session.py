"""`kms-server serve --demo-session`: the demo page holds temporary STS credentials of a
narrowly allowed role, never the account's long-term keys."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import boto3
import pytest

from kms_helpers import KmsServer, audit_events, kms_error, make_client, unique_alias


@pytest.fixture
def demo_server(server_bin, tmp_path):
    srv = KmsServer(binary=server_bin, data_dir=tmp_path / "data", extra_args=["--demo-session", "--no-www"]).start()
    yield srv
    assert srv.stop() == 0


OPEN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "kms:*", "Resource": "*"}
    ],
}


def fetch_session(endpoint: str) -> tuple[dict, str]:
    with urllib.request.urlopen(f"{endpoint}/demo/session") as response:
        assert response.status == 200
        return json.loads(response.read()), response.headers["Cache-Control"]


def test_demo_session_hands_out_temporary_credentials_of_the_demo_role(demo_server):
    session, cache_control = fetch_session(demo_server.endpoint)
    assert cache_control == "no-store"
    assert session["accessKeyId"].startswith("ASIA")
    assert session["arn"].startswith("arn:aws:sts::000000000000:assumed-role/kms-demo-browser/demo-")
    assert session["sessionToken"] and session["expiration"].endswith("Z")
    second, _ = fetch_session(demo_server.endpoint)
    assert second["accessKeyId"] != session["accessKeyId"], "every page load gets its own session"

    sts = boto3.session.Session().client(
        "sts",
        endpoint_url=demo_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=session["accessKeyId"],
        aws_secret_access_key=session["secretAccessKey"],
        aws_session_token=session["sessionToken"],
    )
    assert sts.get_caller_identity()["Arn"] == session["arn"]

    kms = make_client(
        demo_server.endpoint,
        access_key=session["accessKeyId"],
        secret_key=session["secretAccessKey"],
        session_token=session["sessionToken"],
    )
    # What the page does: create a key by alias, use it, switch it off and on.
    key_id = kms.create_key(Description="demo")["KeyMetadata"]["KeyId"]
    alias = unique_alias("demo")
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key_id
    data_key = kms.generate_data_key(KeyId=alias, KeySpec="AES_256")
    assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    kms.disable_key(KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    # Nothing else: the role's policy allows only the page's actions.
    with kms_error("AccessDeniedException"):
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with kms_error("AccessDeniedException"):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(OPEN_POLICY))

    # Issuing the session is in the audit trail as an AssumeRole, without the credentials.
    demo_server.stop()
    events = audit_events(demo_server.binary, demo_server.data_dir)
    issued = [e for e in events if e["eventName"] == "AssumeRole" and e["userAgent"] == "kms-server demo-session"]
    assert len(issued) == 2
    assert issued[0]["userIdentity"]["arn"] == "arn:aws:iam::000000000000:root"
    trail = json.dumps(events)
    for secret in (session["secretAccessKey"], session["sessionToken"], second["sessionToken"]):
        assert secret not in trail
    demo_server.start()


def test_demo_session_is_refused_off_loopback(server_bin, tmp_path):
    config = tmp_path / "accounts.toml"
    config.write_text('[[accounts]]\nid = "111122223333"\nroot_access_key_id = "AKIDX"\nroot_secret_access_key = "x"\n')
    proc = subprocess.run(
        [str(server_bin), "serve", "--listen", "0.0.0.0:0", "--data", str(tmp_path / "data"),
         "--config", str(config), "--demo-session", "--no-www"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "refusing --demo-session" in proc.stderr
