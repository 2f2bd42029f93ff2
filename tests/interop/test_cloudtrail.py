"""CloudTrail's LookupEvents on the kms-server endpoint: boto3's `cloudtrail` client and
`aws cloudtrail lookup-events` read the audit trail, each account sees only its own events,
and parameter errors carry CloudTrail's names."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from kms_helpers import (
    ACCOUNT_A,
    ACCOUNT_B,
    ISOLATED_AWS_ENV,
    KmsServer,
    audit_events,
    aws_cli_executable,
    service_client,
    write_accounts_config,
)

REGION = "us-east-1"


def _client(srv: KmsServer, service: str, account=ACCOUNT_A, access_key=None, secret_key=None):
    return service_client(
        service,
        srv.endpoint,
        access_key or account["access_key"],
        secret_key or account["secret"],
        validate=False,
    )


@pytest.fixture(scope="module")
def trail(server_bin, tmp_path_factory):
    """A server with two accounts; account A has made a known set of calls, account B one."""
    base = tmp_path_factory.mktemp("cloudtrail")
    config = write_accounts_config(base / "accounts.toml")
    srv = KmsServer(binary=server_bin, data_dir=base / "data", config=config).start()
    kms_a = _client(srv, "kms")
    key = kms_a.create_key(Description="looked up")["KeyMetadata"]
    other = kms_a.create_key(Description="other")["KeyMetadata"]
    ct = kms_a.encrypt(KeyId=key["KeyId"], Plaintext=b"secret-plaintext-xyz")
    decrypts = [kms_a.decrypt(CiphertextBlob=ct["CiphertextBlob"]) for _ in range(3)]
    kms_a.describe_key(KeyId=other["KeyId"])
    _client(srv, "kms", ACCOUNT_B).list_keys()
    yield {
        "server": srv,
        "key": key,
        "other": other,
        "decrypt_ids": [d["ResponseMetadata"]["RequestId"] for d in decrypts],
    }
    srv.stop()


def _lookup(srv, account=ACCOUNT_A, **kwargs):
    return _client(srv, "cloudtrail", account).lookup_events(**kwargs)


def test_boto3_lookup_events_by_event_name_newest_first(trail):
    out = _lookup(trail["server"], LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}])
    events = out["Events"]
    assert [e["EventName"] for e in events] == ["Decrypt"] * 3
    recorded = [json.loads(e["CloudTrailEvent"]) for e in events]
    assert [r["requestID"] for r in recorded] == list(reversed(trail["decrypt_ids"]))
    first = events[0]
    assert first["EventSource"] == "kms.amazonaws.com"
    assert first["ReadOnly"] == "true"  # CloudTrail marks cryptographic operations read-only
    assert first["AccessKeyId"] == ACCOUNT_A["access_key"]
    assert first["Username"] == "root"
    assert first["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": trail["key"]["Arn"]}]
    assert isinstance(first["EventTime"], datetime)
    assert first["EventId"] == recorded[0]["eventID"]
    assert "NextToken" not in out


def test_lookup_by_resource_name_read_only_and_event_id(trail):
    srv = trail["server"]
    by_key = _lookup(srv, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": trail["other"]["Arn"]}])
    assert [e["EventName"] for e in by_key["Events"]] == ["DescribeKey", "CreateKey"]
    by_id = _lookup(srv, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": trail["other"]["KeyId"]}])
    assert len(by_id["Events"]) == 2
    read_only = _lookup(srv, LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "true"}])
    assert {e["EventName"] for e in read_only["Events"]} >= {"DescribeKey"}
    assert all(e["ReadOnly"] == "true" for e in read_only["Events"])
    one = by_key["Events"][0]["EventId"]
    by_event_id = _lookup(srv, LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": one}])
    assert [e["EventId"] for e in by_event_id["Events"]] == [one]


def test_pages_follow_next_token_without_overlap(trail):
    srv = trail["server"]
    attrs = [{"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}]
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"LookupAttributes": attrs, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = _lookup(srv, **kwargs)
        assert len(page["Events"]) <= 2
        seen += [e["EventId"] for e in page["Events"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7  # CreateKey x2, Encrypt, Decrypt x3, DescribeKey
    assert pages == 4
    paginated = _client(srv, "cloudtrail").get_paginator("lookup_events").paginate(
        LookupAttributes=attrs, PaginationConfig={"PageSize": 3}
    )
    assert [e["EventId"] for p in paginated for e in p["Events"]] == seen


def test_time_range_selects_events(trail):
    srv = trail["server"]
    now = datetime.now(timezone.utc)
    recent = _lookup(srv, StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1))
    assert len(recent["Events"]) >= 7
    old = _lookup(srv, StartTime=now - timedelta(days=3), EndTime=now - timedelta(days=2))
    assert old["Events"] == []


def test_each_account_sees_only_its_own_events(trail):
    srv = trail["server"]
    b_events = _lookup(srv, ACCOUNT_B, LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}])["Events"]
    assert [e["EventName"] for e in b_events] == ["ListKeys"]
    assert all(ACCOUNT_A["id"] not in e["CloudTrailEvent"] for e in b_events)
    a_names = {e["EventName"] for e in _lookup(srv)["Events"]}
    assert "ListKeys" not in a_names


@pytest.mark.parametrize(
    "kwargs, code",
    [
        (
            {"LookupAttributes": [
                {"AttributeKey": "EventName", "AttributeValue": "Decrypt"},
                {"AttributeKey": "Username", "AttributeValue": "root"},
            ]},
            "InvalidLookupAttributesException",
        ),
        ({"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}]}, "InvalidLookupAttributesException"),
        (
            {"StartTime": datetime(2026, 2, 1, tzinfo=timezone.utc), "EndTime": datetime(2026, 1, 1, tzinfo=timezone.utc)},
            "InvalidTimeRangeException",
        ),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"MaxResults": 0}, "InvalidMaxResultsException"),
        ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
    ],
    ids=["two-attributes", "bad-read-only", "start-after-end", "max-51", "max-0", "bad-token"],
)
def test_bad_parameters_get_cloudtrail_errors(trail, kwargs, code):
    with pytest.raises(ClientError) as caught:
        _lookup(trail["server"], **kwargs)
    assert caught.value.response["Error"]["Code"] == code


def test_a_token_from_other_parameters_is_refused(trail):
    srv = trail["server"]
    page = _lookup(srv, MaxResults=1)
    with pytest.raises(ClientError) as caught:
        _lookup(srv, MaxResults=1, NextToken=page["NextToken"],
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}])
    assert caught.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_an_iam_user_needs_cloudtrail_lookup_events(trail):
    srv = trail["server"]
    iam = _client(srv, "iam")
    iam.create_user(UserName="reader")
    creds = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = _client(srv, "cloudtrail", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as caught:
        reader.lookup_events()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "cloudtrail:LookupEvents" in caught.value.response["Error"]["Message"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}]}
    iam.put_user_policy(UserName="reader", PolicyName="read-trail", PolicyDocument=json.dumps(policy))
    events = reader.lookup_events(MaxResults=5)["Events"]
    assert events and events[0]["EventSource"] == "iam.amazonaws.com"


def test_a_kms_signature_is_not_a_cloudtrail_signature(trail):
    # A request signed for `kms` must not be accepted by the cloudtrail API.
    srv = trail["server"]
    session = boto3.session.Session()
    client = session.client(
        "cloudtrail", endpoint_url=srv.endpoint, region_name=REGION,
        aws_access_key_id=ACCOUNT_A["access_key"], aws_secret_access_key=ACCOUNT_A["secret"],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, signature_version="v4"),
    )
    client.meta.events.register(
        "before-sign.cloudtrail.LookupEvents",
        lambda request, **_: request.context.setdefault("signing", {}).update({"signing_name": "kms"}),
    )
    with pytest.raises(ClientError) as caught:
        client.lookup_events()
    assert caught.value.response["Error"]["Code"] in {"InvalidSignatureException", "IncompleteSignatureException"}


def test_aws_cli_lookup_events(trail):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ISOLATED_AWS_ENV)
    env.update({
        "AWS_ACCESS_KEY_ID": ACCOUNT_A["access_key"],
        "AWS_SECRET_ACCESS_KEY": ACCOUNT_A["secret"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "1",
    })
    proc = subprocess.run(
        [aws_cli_executable(), "cloudtrail", "lookup-events", "--endpoint-url", trail["server"].endpoint,
         "--lookup-attributes", "AttributeKey=EventName,AttributeValue=Decrypt",
         "--page-size", "2", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    events = json.loads(proc.stdout)["Events"]
    # Pages of two: the CLI follows NextToken by itself to every Decrypt, newest first.
    assert [e["EventName"] for e in events] == ["Decrypt"] * 3
    assert json.loads(events[0]["CloudTrailEvent"])["eventSource"] == "kms.amazonaws.com"


def test_lookup_events_calls_are_recorded_once_and_the_trail_verifies(server_bin, trail):
    srv = trail["server"]
    page = _lookup(srv, MaxResults=1)
    request_id = page["ResponseMetadata"]["RequestId"]
    # The answer never contains its own call; the next one does.
    assert json.loads(page["Events"][0]["CloudTrailEvent"])["requestID"] != request_id
    newest = json.loads(_lookup(srv, MaxResults=1)["Events"][0]["CloudTrailEvent"])
    assert newest["requestID"] == request_id
    assert newest["eventSource"] == "cloudtrail.amazonaws.com"
    assert newest["eventName"] == "LookupEvents"
    assert newest["readOnly"] is True
    assert newest["additionalEventData"]["authorization"][0]["action"] == "cloudtrail:LookupEvents"
    events = audit_events(server_bin, srv.data_dir)
    assert sum(1 for e in events if e["requestID"] == request_id) == 1
    assert b"secret-plaintext-xyz" not in b"".join(p.read_bytes() for p in (srv.data_dir / "audit").iterdir())
