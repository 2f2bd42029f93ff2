"""Crash durability: every acknowledged write survives SIGKILL of the server.

Each test runs its own server on its own data directory, performs writes, kills the
process with SIGKILL right after the last acknowledged response (no graceful shutdown),
restarts it on the same directory and checks that everything acknowledged is there."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import uuid
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from kms_helpers import KmsServer, make_client, unique_alias

pytestmark = pytest.mark.crash


@pytest.fixture
def crash_server(server_bin, tmp_path):
    srv = KmsServer(binary=server_bin, data_dir=tmp_path / "data")
    srv.start()
    yield srv
    srv.stop()


def policy_document(sid: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


@dataclass
class ExpectedKey:
    """What the server acknowledged about one key."""

    key_id: str
    description: str
    state: str = "Enabled"
    tags: dict = field(default_factory=dict)
    rotation_enabled: bool = False
    rotation_period: int | None = None
    materials: list = field(default_factory=list)  # every material id, oldest first
    policy: str | None = None
    deletion_date: dt.datetime | None = None
    ciphertexts: list = field(default_factory=list)  # (blob, context, plaintext, material id)


class Model:
    """The acknowledged state of one account/Region, and a checker for it."""

    def __init__(self):
        self.keys: dict[str, ExpectedKey] = {}
        self.aliases: dict[str, str] = {}

    # -- writes, each recorded only after the server acknowledged it ----------------------

    def create_key(self, kms, description, tags=None):
        params = {"Description": description}
        if tags:
            params["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
        md = kms.create_key(**params)["KeyMetadata"]
        self.keys[md["KeyId"]] = ExpectedKey(
            key_id=md["KeyId"], description=description, tags=dict(tags or {}), materials=[md["CurrentKeyMaterialId"]]
        )
        return md["KeyId"]

    def encrypt(self, kms, key_id, context=None):
        plaintext = os.urandom(24)
        params = {"KeyId": key_id, "Plaintext": plaintext}
        if context:
            params["EncryptionContext"] = context
        blob = kms.encrypt(**params)["CiphertextBlob"]
        self.keys[key_id].ciphertexts.append((blob, context, plaintext, self.keys[key_id].materials[-1]))

    def data_key(self, kms, key_id):
        out = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        self.keys[key_id].ciphertexts.append((out["CiphertextBlob"], None, out["Plaintext"], out["KeyMaterialId"]))

    def rotate(self, kms, key_id):
        kms.rotate_key_on_demand(KeyId=key_id)
        current = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
        assert current not in self.keys[key_id].materials
        self.keys[key_id].materials.append(current)

    def enable_rotation(self, kms, key_id, days):
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=days)
        self.keys[key_id].rotation_enabled = True
        self.keys[key_id].rotation_period = days

    def tag(self, kms, key_id, **tags):
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])
        self.keys[key_id].tags.update(tags)

    def untag(self, kms, key_id, *names):
        kms.untag_resource(KeyId=key_id, TagKeys=list(names))
        for name in names:
            self.keys[key_id].tags.pop(name, None)

    def create_alias(self, kms, key_id):
        name = unique_alias("crash")
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
        self.aliases[name] = key_id
        return name

    def update_alias(self, kms, name, key_id):
        kms.update_alias(AliasName=name, TargetKeyId=key_id)
        self.aliases[name] = key_id

    def delete_alias(self, kms, name):
        kms.delete_alias(AliasName=name)
        del self.aliases[name]

    def schedule_deletion(self, kms, key_id):
        out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.keys[key_id].state = "PendingDeletion"
        self.keys[key_id].deletion_date = out["DeletionDate"]

    def cancel_deletion(self, kms, key_id):
        kms.cancel_key_deletion(KeyId=key_id)
        self.keys[key_id].state = "Disabled"
        self.keys[key_id].deletion_date = None

    def set_enabled(self, kms, key_id, enabled):
        (kms.enable_key if enabled else kms.disable_key)(KeyId=key_id)
        self.keys[key_id].state = "Enabled" if enabled else "Disabled"

    def describe(self, kms, key_id, text):
        kms.update_key_description(KeyId=key_id, Description=text)
        self.keys[key_id].description = text

    def put_policy(self, kms, key_id, sid):
        document = policy_document(sid)
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=document)
        self.keys[key_id].policy = document

    # -- verification ----------------------------------------------------------------------

    def verify(self, kms, decrypt_all=False):
        listed = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
        assert set(self.keys) <= listed, set(self.keys) - listed
        aliases = {
            a["AliasName"]: a["TargetKeyId"] for p in kms.get_paginator("list_aliases").paginate() for a in p["Aliases"]
        }
        assert aliases == self.aliases
        for key in self.keys.values():
            md = kms.describe_key(KeyId=key.key_id)["KeyMetadata"]
            assert md["KeyState"] == key.state, key.key_id
            assert md["Enabled"] is (key.state == "Enabled")
            assert md["Description"] == key.description
            assert md["CurrentKeyMaterialId"] == key.materials[-1]
            if key.deletion_date is None:
                assert "DeletionDate" not in md
            else:
                assert abs(md["DeletionDate"] - key.deletion_date) < dt.timedelta(seconds=1)
            tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key.key_id)["Tags"]}
            assert tags == key.tags, key.key_id
            status = kms.get_key_rotation_status(KeyId=key.key_id)
            if key.state != "PendingDeletion":
                assert status["KeyRotationEnabled"] is key.rotation_enabled
                if key.rotation_enabled:
                    assert status["RotationPeriodInDays"] == key.rotation_period
            materials = [
                r["KeyMaterialId"]
                for r in kms.list_key_rotations(KeyId=key.key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
            ]
            assert materials == key.materials
            rotations = kms.list_key_rotations(KeyId=key.key_id)["Rotations"]
            assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"] * (len(key.materials) - 1)
            if key.policy is not None:
                got = kms.get_key_policy(KeyId=key.key_id, PolicyName="default")["Policy"]
                assert json.loads(got) == json.loads(key.policy)
            if key.state == "Enabled" or decrypt_all:
                self.check_ciphertexts(kms, key)

    def check_ciphertexts(self, kms, key):
        restore = None
        if key.state == "PendingDeletion":
            kms.cancel_key_deletion(KeyId=key.key_id)
            restore = "PendingDeletion"
        if key.state != "Enabled":
            kms.enable_key(KeyId=key.key_id)
            restore = restore or "Disabled"
        for blob, context, plaintext, material in key.ciphertexts:
            params = {"CiphertextBlob": blob}
            if context:
                params["EncryptionContext"] = context
            out = kms.decrypt(**params)
            assert out["Plaintext"] == plaintext
            assert out["KeyMaterialId"] == material
        if restore == "Disabled":
            kms.disable_key(KeyId=key.key_id)
        elif restore == "PendingDeletion":
            out = kms.schedule_key_deletion(KeyId=key.key_id, PendingWindowInDays=7)
            key.deletion_date = out["DeletionDate"]


def test_acknowledged_writes_survive_sigkill(crash_server):
    srv = crash_server
    kms = make_client(srv.endpoint)
    model = Model()

    # Round 0: the scenario of the brief, then an immediate SIGKILL.
    main = model.create_key(kms, "main key", tags={"team": "crash"})
    alias = model.create_alias(kms, main)
    context = {"round": "0"}
    model.encrypt(kms, main, context)
    model.encrypt(kms, main)
    model.data_key(kms, main)
    model.enable_rotation(kms, main, 120)
    model.rotate(kms, main)
    model.encrypt(kms, main, context)
    model.tag(kms, main, stage="rotated", owner="ops")
    doomed = model.create_key(kms, "to be deleted")
    model.encrypt(kms, doomed)
    model.schedule_deletion(kms, doomed)
    srv.kill()

    srv.start()
    kms = make_client(srv.endpoint)
    model.verify(kms)
    # The alias still works for cryptography.
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == main

    # Further rounds: interleaved writes of every kind, each followed by SIGKILL + restart.
    keys = [main]
    for round_no in range(1, 4):
        new = model.create_key(kms, f"round {round_no}", tags={"round": str(round_no)})
        keys.append(new)
        new_alias = model.create_alias(kms, new)
        model.update_alias(kms, alias, new)
        model.rotate(kms, main)
        model.encrypt(kms, main, {"round": str(round_no)})
        model.encrypt(kms, new, {"round": str(round_no)})
        model.data_key(kms, new)
        model.enable_rotation(kms, new, 90 + round_no)
        model.tag(kms, main, **{f"r{round_no}": "yes"})
        model.untag(kms, main, "owner" if round_no == 1 else f"r{round_no - 1}")
        model.describe(kms, keys[round_no - 1], f"described in round {round_no}")
        model.put_policy(kms, new, f"Round{round_no}")
        if round_no == 1:
            model.cancel_deletion(kms, doomed)
        elif round_no == 2:
            model.set_enabled(kms, doomed, True)
            model.encrypt(kms, doomed)
            model.set_enabled(kms, new, False)
            model.delete_alias(kms, new_alias)
        else:
            model.schedule_deletion(kms, doomed)
            model.set_enabled(kms, keys[2], True)
        srv.kill()
        srv.start()
        kms = make_client(srv.endpoint)
        model.verify(kms)

    # Finally every ciphertext, from before and after every rotation, decrypts.
    model.verify(kms, decrypt_all=True)
    assert srv.starts == 5


def test_concurrent_acknowledged_writes_survive_sigkill(crash_server):
    srv = crash_server
    setup = make_client(srv.endpoint)
    shared = setup.create_key(Description="shared")["KeyMetadata"]["KeyId"]
    writers = 8
    clients = [make_client(srv.endpoint) for _ in range(writers + 1)]
    lock = threading.Lock()
    enough = threading.Event()
    stop = threading.Event()
    acked_keys: list[str] = []
    acked_blobs: list[tuple[bytes, dict, bytes]] = []
    rotations = [0]
    errors_before_kill: list[BaseException] = []
    threshold = 400  # acknowledged results before the kill

    def record(kind, item):
        with lock:
            (acked_keys if kind == "key" else acked_blobs).append(item)
            if len(acked_keys) + len(acked_blobs) >= threshold:
                enough.set()

    def writer(client, n):
        i = 0
        while not stop.is_set():
            i += 1
            try:
                key_id = client.create_key(Description=f"w{n}-{i}")["KeyMetadata"]["KeyId"]
                record("key", key_id)
                for target in (key_id, shared):
                    context = {"writer": str(n), "i": str(i)}
                    plaintext = uuid.uuid4().bytes
                    blob = client.encrypt(KeyId=target, Plaintext=plaintext, EncryptionContext=context)[
                        "CiphertextBlob"
                    ]
                    record("blob", (blob, context, plaintext))
            except (ClientError, BotoCoreError, OSError) as e:
                if not enough.is_set():
                    errors_before_kill.append(e)
                return

    def rotator(client):
        # Rotates the shared key while the writers encrypt under it.
        while not stop.is_set() and rotations[0] < 20:
            try:
                client.rotate_key_on_demand(KeyId=shared)
                rotations[0] += 1
                client.encrypt(KeyId=shared, Plaintext=b"r")
            except (ClientError, BotoCoreError, OSError) as e:
                if not enough.is_set():
                    errors_before_kill.append(e)
                return

    threads = [threading.Thread(target=writer, args=(clients[n], n), daemon=True) for n in range(writers)]
    threads.append(threading.Thread(target=rotator, args=(clients[writers],), daemon=True))
    for t in threads:
        t.start()
    reached = enough.wait(timeout=120)
    srv.kill()  # while the writers are still running
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer thread hung after the kill"
    assert not errors_before_kill, errors_before_kill[:3]
    assert reached, "the writers did not reach the threshold"

    with lock:
        keys = list(acked_keys)
        blobs = list(acked_blobs)
    assert len(keys) + len(blobs) >= threshold

    srv.start()
    kms = make_client(srv.endpoint)
    listed = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
    missing = [k for k in keys if k not in listed]
    assert not missing, f"{len(missing)} acknowledged keys lost, e.g. {missing[:3]}"
    for key_id in keys:
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    for blob, context, plaintext in blobs:
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == plaintext
    rotated = kms.list_key_rotations(KeyId=shared)["Rotations"]
    assert len(rotated) >= rotations[0]
    # The restarted server takes new writes.
    fresh = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=fresh, Plaintext=b"after")["CiphertextBlob"])["Plaintext"] == b"after"


def test_sigterm_is_graceful_and_durable(crash_server):
    srv = crash_server
    kms = make_client(srv.endpoint)
    key_id = kms.create_key(Description="graceful")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"kept")["CiphertextBlob"]
    assert srv.stop() == 0, srv.log_tail()
    srv.start()
    kms = make_client(srv.endpoint)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "graceful"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
