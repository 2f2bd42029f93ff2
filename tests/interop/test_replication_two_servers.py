"""Two kms-server processes, each serving its own Region with its own data directory and
root key, peered with each other: a multi-Region key's replica is created at the other
deployment through the outbox (also when that deployment is down while the replica is
requested), ciphertext crosses deployments both ways, and rotation at the primary reaches
the replica. Delivery is triggered with KmsInternal.FlushReplication (root only), so the
test never waits on the background job's timer.

The deletion hand-over (replica deleted at the peer, primary leaving PendingReplicaDeletion)
needs the injected clock and is tested in crates/server/tests/api/replication.rs."""

from __future__ import annotations

import socket
import subprocess

import pytest
from botocore.exceptions import ClientError

from kms_helpers import KmsServer, key_arn, make_client, signed_post

HOME = "ap-east-1"
AWAY = "me-south-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replication_key(binary, data_dir) -> str:
    out = subprocess.run(
        [str(binary), "replication-key", "--data", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return out.stdout.strip()


def write_config(path, serves: str, peer_region: str, peer_port: int, peer_key: str) -> None:
    path.write_text(
        f'regions = ["{serves}"]\n\n'
        '[[accounts]]\nid = "000000000000"\nroot_access_key_id = "test"\nroot_secret_access_key = "test"\n\n'
        f'[[peers]]\nregion = "{peer_region}"\nendpoint = "http://127.0.0.1:{peer_port}"\n'
        f'access_key_id = "test"\nsecret_access_key = "test"\npublic_key = "{peer_key}"\n'
    )


def flush(server: KmsServer, region: str) -> dict:
    response = signed_post(server.endpoint, "KmsInternal.FlushReplication", {}, region=region)
    assert response.status == 200, response.body
    return response.json()


@pytest.fixture
def pair(server_bin, tmp_path):
    servers = {}
    ports = {HOME: free_port(), AWAY: free_port()}
    dirs = {HOME: tmp_path / "home" / "data", AWAY: tmp_path / "away" / "data"}
    for data in dirs.values():
        data.mkdir(parents=True)
    keys = {region: replication_key(server_bin, data) for region, data in dirs.items()}
    for region, other in ((HOME, AWAY), (AWAY, HOME)):
        config = dirs[region].parent / "config.toml"
        write_config(config, region, other, ports[other], keys[other])
        servers[region] = KmsServer(
            binary=server_bin, data_dir=dirs[region], config=config, listen=f"127.0.0.1:{ports[region]}"
        )
    yield servers
    for srv in servers.values():
        srv.stop()


def test_replica_at_a_peer_deployment(pair):
    home, away = pair[HOME].start(), pair[AWAY]
    us = make_client(home.endpoint, region=HOME)
    key_id = us.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    blob = us.encrypt(KeyId=key_id, Plaintext=b"from home", EncryptionContext={"k": "v"})["CiphertextBlob"]

    # The peer is down: the replica is requested anyway and waits in the outbox.
    out = us.replicate_key(KeyId=key_id, ReplicaRegion=AWAY, Description="abroad")
    assert out["ReplicaKeyMetadata"]["KeyState"] == "Creating"
    assert out["ReplicaKeyMetadata"]["Arn"] == key_arn(key_id, region=AWAY)
    assert flush(home, HOME) == {"Delivered": 0, "Failed": 1, "Pending": 1}

    away.start()
    eu = make_client(away.endpoint, region=AWAY)
    with pytest.raises(ClientError) as e:
        eu.describe_key(KeyId=key_id)
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    assert flush(home, HOME) == {"Delivered": 1, "Failed": 0, "Pending": 0}
    meta = eu.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Description"] == "abroad"
    assert meta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert meta["MultiRegionConfiguration"]["PrimaryKey"] == {"Arn": key_arn(key_id, region=HOME), "Region": HOME}

    # Each deployment serves only its own Region.
    with pytest.raises(ClientError) as e:
        make_client(home.endpoint, region=AWAY).list_keys()
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"

    assert eu.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})["Plaintext"] == b"from home"
    back = eu.encrypt(KeyId=key_id, Plaintext=b"from away")["CiphertextBlob"]
    assert us.decrypt(CiphertextBlob=back)["Plaintext"] == b"from away"

    # Rotation at the primary reaches the replica; the peer restarting in between loses nothing.
    away.stop()
    us.rotate_key_on_demand(KeyId=key_id)
    assert flush(home, HOME)["Pending"] == 1
    away.start()
    assert flush(home, HOME) == {"Delivered": 1, "Failed": 0, "Pending": 0}

    def rotations(client):
        return client.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]

    assert len(rotations(us)) == 2 and rotations(eu) == rotations(us)
    fresh = us.encrypt(KeyId=key_id, Plaintext=b"rotated")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=fresh)["Plaintext"] == b"rotated"

    # Only an account root may flush; the internal operations need the account's credentials.
    denied = signed_post(home.endpoint, "KmsInternal.FlushReplication", {}, region=HOME, secret_key="wrong")
    assert denied.status in (400, 403)
