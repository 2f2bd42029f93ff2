"""Multi-Region keys through boto3 and the AWS CLI: one server serving several Regions, with a
client per Region. Replication, decryption across Regions, rotation reaching replicas,
UpdatePrimaryRegion, the deletion states, cross-Region ReEncrypt.

The deletion *transitions* (a replica's waiting period ending, the primary then entering
PendingDeletion) need the injected clock and are tested in the Rust API tests
(crates/server/tests/api/multi_region.rs); here the server runs on the system clock.

Regions used here (ap-northeast-1/2/3, eu-north-1, eu-central-2) are used by no other test."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from kms_helpers import key_arn

PRIMARY = "ap-northeast-1"
REPLICA = "ap-northeast-2"
THIRD = "ap-northeast-3"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def regions(client_factory):
    return {r: client_factory(region=r) for r in (PRIMARY, REPLICA, THIRD)}


@pytest.fixture
def mrk(regions) -> str:
    out = regions[PRIMARY].create_key(MultiRegion=True, Description="interop mrk")["KeyMetadata"]
    assert out["KeyId"].startswith("mrk-") and len(out["KeyId"]) == 36
    assert out["MultiRegion"] is True
    assert out["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    return out["KeyId"]


def test_replicate_and_decrypt_across_regions(regions, mrk):
    primary, replica = regions[PRIMARY], regions[REPLICA]
    out = primary.replicate_key(
        KeyId=mrk,
        ReplicaRegion=REPLICA,
        Description="the replica",
        Tags=[{"TagKey": "site", "TagValue": "replica"}],
    )
    meta = out["ReplicaKeyMetadata"]
    assert meta["KeyId"] == mrk
    assert meta["Arn"] == key_arn(mrk, region=REPLICA)
    assert meta["KeyState"] == "Enabled"
    assert meta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert out["ReplicaTags"] == [{"TagKey": "site", "TagValue": "replica"}]
    assert '"kms:*"' in out["ReplicaPolicy"]

    for client in (primary, replica):
        config = client.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]
        assert config["PrimaryKey"] == {"Arn": key_arn(mrk, region=PRIMARY), "Region": PRIMARY}
        assert config["ReplicaKeys"] == [{"Arn": key_arn(mrk, region=REPLICA), "Region": REPLICA}]

    context = {"purpose": "interop"}
    blob = primary.encrypt(KeyId=mrk, Plaintext=b"from the primary", EncryptionContext=context)[
        "CiphertextBlob"
    ]
    out = replica.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert out["Plaintext"] == b"from the primary"
    assert out["KeyId"] == key_arn(mrk, region=REPLICA)
    with pytest.raises(ClientError) as e:
        replica.decrypt(CiphertextBlob=blob)
    assert error_code(e) == "InvalidCiphertextException"
    data_key = replica.generate_data_key(KeyId=mrk, KeySpec="AES_256")
    assert primary.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]

    with pytest.raises(ClientError) as e:
        primary.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA)
    assert error_code(e) == "AlreadyExistsException"
    with pytest.raises(ClientError) as e:
        replica.replicate_key(KeyId=mrk, ReplicaRegion=THIRD)
    assert error_code(e) == "UnsupportedOperationException"
    single = primary.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        primary.replicate_key(KeyId=single, ReplicaRegion=REPLICA)
    assert error_code(e) == "UnsupportedOperationException"


def test_rotation_reaches_replicas(regions, mrk):
    primary, replica = regions[PRIMARY], regions[REPLICA]
    primary.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA)
    primary.enable_key_rotation(KeyId=mrk, RotationPeriodInDays=180)
    status = replica.get_key_rotation_status(KeyId=mrk)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180
    with pytest.raises(ClientError) as e:
        replica.rotate_key_on_demand(KeyId=mrk)
    assert error_code(e) == "UnsupportedOperationException"
    primary.rotate_key_on_demand(KeyId=mrk)

    def rotations(client):
        return client.list_key_rotations(KeyId=mrk, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]

    assert len(rotations(primary)) == 2
    assert rotations(replica) == rotations(primary)
    blob = replica.encrypt(KeyId=mrk, Plaintext=b"new material")["CiphertextBlob"]
    assert primary.decrypt(CiphertextBlob=blob)["Plaintext"] == b"new material"


def test_update_primary_region_then_delete_replica_and_primary(regions, mrk):
    primary, replica, third = regions[PRIMARY], regions[REPLICA], regions[THIRD]
    primary.replicate_key(KeyId=mrk, ReplicaRegion=REPLICA)
    primary.update_primary_region(KeyId=mrk, PrimaryRegion=REPLICA)
    config = primary.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]
    assert config["MultiRegionKeyType"] == "REPLICA"
    assert config["PrimaryKey"]["Region"] == REPLICA
    with pytest.raises(ClientError) as e:
        primary.update_primary_region(KeyId=mrk, PrimaryRegion=PRIMARY)
    assert error_code(e) == "UnsupportedOperationException"
    replica.replicate_key(KeyId=mrk, ReplicaRegion=THIRD)
    blob = third.encrypt(KeyId=mrk, Plaintext=b"three regions")["CiphertextBlob"]
    assert primary.decrypt(CiphertextBlob=blob)["Plaintext"] == b"three regions"

    # A replica is scheduled like any key; the primary waits for its replicas.
    out = primary.schedule_key_deletion(KeyId=mrk, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and "DeletionDate" in out
    out = replica.schedule_key_deletion(KeyId=mrk, PendingWindowInDays=8)
    assert out["KeyState"] == "PendingReplicaDeletion"
    assert "DeletionDate" not in out and out["PendingWindowInDays"] == 8
    meta = replica.describe_key(KeyId=mrk)["KeyMetadata"]
    assert meta["KeyState"] == "PendingReplicaDeletion" and meta["PendingDeletionWindowInDays"] == 8
    with pytest.raises(ClientError) as e:
        replica.decrypt(CiphertextBlob=blob)
    assert error_code(e) == "KMSInvalidStateException"
    assert third.decrypt(CiphertextBlob=blob)["Plaintext"] == b"three regions"
    replica.cancel_key_deletion(KeyId=mrk)
    assert replica.describe_key(KeyId=mrk)["KeyMetadata"]["KeyState"] == "Disabled"


def test_reencrypt_into_another_region(regions):
    primary, replica = regions[PRIMARY], regions[REPLICA]
    source = primary.create_key()["KeyMetadata"]["KeyId"]
    destination = replica.create_key()["KeyMetadata"]["Arn"]
    blob = primary.encrypt(KeyId=source, Plaintext=b"copy me", EncryptionContext={"from": "a"})[
        "CiphertextBlob"
    ]
    out = primary.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"from": "a"},
        DestinationKeyId=destination,
        DestinationEncryptionContext={"to": "b"},
    )
    assert out["KeyId"] == destination
    moved = replica.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"to": "b"})
    assert moved["Plaintext"] == b"copy me"


@pytest.mark.cli
def test_cli_replicate_update_primary_and_describe(aws, client_factory):
    home, away = "eu-north-1", "eu-central-2"
    created = aws("create-key", "--multi-region", region=home).data["KeyMetadata"]
    key_id = created["KeyId"]
    assert key_id.startswith("mrk-") and created["MultiRegion"] is True
    out = aws(
        "replicate-key",
        "--key-id",
        key_id,
        "--replica-region",
        away,
        "--description",
        "cli replica",
        region=home,
    ).data
    assert out["ReplicaKeyMetadata"]["Arn"] == key_arn(key_id, region=away)
    result = aws("update-primary-region", "--key-id", key_id, "--primary-region", away, region=home)
    assert result.returncode == 0
    described = aws("describe-key", "--key-id", key_id, region=away).data["KeyMetadata"]
    assert described["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert described["MultiRegionConfiguration"]["ReplicaKeys"] == [
        {"Arn": key_arn(key_id, region=home), "Region": home}
    ]
    assert described["Description"] == "cli replica"
    failed = aws("replicate-key", "--key-id", key_id, "--replica-region", away, region=home, check=False)
    assert failed.returncode != 0 and "(UnsupportedOperationException)" in failed.stderr
    blob = client_factory(region=home).encrypt(KeyId=key_id, Plaintext=b"cli")["CiphertextBlob"]
    assert client_factory(region=away).decrypt(CiphertextBlob=blob)["Plaintext"] == b"cli"
