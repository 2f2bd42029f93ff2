"""Concurrent requests on one key or one name: uniqueness and quotas hold exactly, and
concurrent writes to one key all succeed and are all kept.

Python threads driving boto3 rarely put more than a few requests inside the server at
once, so the racing requests are sent with `burst`: pre-signed, one connection each,
everything but the last byte first, then all last bytes back to back."""

from __future__ import annotations

import base64
import collections
import threading

import pytest
from botocore.exceptions import ClientError

from kms_helpers import burst, make_client, unique_alias


def codes(responses):
    """Counter of outcomes: 'ok' for 200, else the error's __type."""
    return collections.Counter("ok" if r.status == 200 else r.json().get("__type", str(r.status)) for r in responses)


def test_burst_of_reads_all_succeed(endpoint, key_id):
    responses = burst(endpoint, [("TrentService.DescribeKey", {"KeyId": key_id})] * 48)
    assert codes(responses) == {"ok": 48}
    assert {r.json()["KeyMetadata"]["KeyId"] for r in responses} == {key_id}


def test_burst_of_encrypts_all_decrypt(endpoint, kms, key_id):
    plaintexts = [f"message {i}".encode() for i in range(48)]
    responses = burst(
        endpoint,
        [("TrentService.Encrypt", {"KeyId": key_id, "Plaintext": base64.b64encode(p).decode()}) for p in plaintexts],
    )
    assert codes(responses) == {"ok": 48}
    for plaintext, response in zip(plaintexts, responses):
        blob = base64.b64decode(response.json()["CiphertextBlob"])
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext


def test_concurrent_create_alias_same_name(endpoint, kms, key_id):
    name = unique_alias("race")
    responses = burst(endpoint, [("TrentService.CreateAlias", {"AliasName": name, "TargetKeyId": key_id})] * 24)
    assert codes(responses) == {"ok": 1, "AlreadyExistsException": 23}
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id


def test_concurrent_create_keys_are_distinct_and_listed(endpoint, client_factory):
    regional = client_factory(region="eu-south-2")
    requests = [("TrentService.CreateKey", {"Description": f"burst {i}"}) for i in range(40)]
    responses = burst(endpoint, requests, region="eu-south-2")
    assert codes(responses) == {"ok": 40}
    created = {r.json()["KeyMetadata"]["KeyId"] for r in responses}
    assert len(created) == 40
    listed = {k["KeyId"] for p in regional.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert created == listed


def test_concurrent_on_demand_rotations_never_exceed_the_limit(kms, endpoint, key_id):
    # boto3 threads: a moderate amount of concurrency on the rotation quota.
    clients = [make_client(endpoint) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    outcomes = collections.Counter()
    lock = threading.Lock()

    def work(client):
        barrier.wait(timeout=30)
        for _ in range(4):
            try:
                client.rotate_key_on_demand(KeyId=key_id)
                code = "ok"
            except ClientError as e:
                code = e.response["Error"]["Code"]
            with lock:
                outcomes[code] += 1

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert outcomes["ok"] <= 25, outcomes
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert len(rotations) == outcomes["ok"]
    # Every acknowledged rotation counts; the quota is reached after exactly 25.
    while len(rotations) < 25:
        kms.rotate_key_on_demand(KeyId=key_id)
        rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    with pytest.raises(ClientError) as info:
        kms.rotate_key_on_demand(KeyId=key_id)
    assert info.value.response["Error"]["Code"] == "LimitExceededException"
    assert len({r["KeyMaterialId"] for r in rotations}) == 25


def test_concurrent_writes_to_one_key_all_succeed(endpoint, kms, key_id):
    tags = [f"tag-{i}" for i in range(40)]
    responses = burst(
        endpoint,
        [("TrentService.TagResource", {"KeyId": key_id, "Tags": [{"TagKey": t, "TagValue": "v"}]}) for t in tags],
    )
    outcomes = codes(responses)
    assert set(outcomes) <= {"ok", "ThrottlingException"}, outcomes
    acknowledged = {t for t, r in zip(tags, responses) if r.status == 200}
    stored = {t["TagKey"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
    assert acknowledged <= stored
    responses = burst(
        endpoint,
        [("TrentService.UpdateKeyDescription", {"KeyId": key_id, "Description": f"d{i}"}) for i in range(40)],
    )
    assert set(codes(responses)) <= {"ok", "ThrottlingException"}, codes(responses)


def test_concurrent_aliases_respect_the_per_key_quota(endpoint, kms, key_id):
    names = [unique_alias(f"quota{i}") for i in range(60)]
    responses = burst(
        endpoint, [("TrentService.CreateAlias", {"AliasName": n, "TargetKeyId": key_id}) for n in names]
    )
    assert len(kms.list_aliases(KeyId=key_id, Limit=100)["Aliases"]) <= 50
    assert codes(responses) == {"ok": 50, "LimitExceededException": 10}
