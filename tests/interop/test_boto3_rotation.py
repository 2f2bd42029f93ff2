"""Key rotation through boto3: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
RotateKeyOnDemand, ListKeyRotations."""

from __future__ import annotations

import datetime as dt

import pytest

from kms_helpers import MATERIAL_ID_RE, key_arn, kms_error

MAX_ON_DEMAND_ROTATIONS = 25


def rotations_of(kms, key_id, **params):
    out = []
    for page in kms.get_paginator("list_key_rotations").paginate(KeyId=key_id, **params):
        out.extend(page["Rotations"])
    return out


def current_material(kms, key_id):
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]


def test_rotation_status_lifecycle(kms, key_id):
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is False
    assert status["KeyId"] == key_arn(key_id)

    before = dt.datetime.now(dt.timezone.utc)
    kms.enable_key_rotation(KeyId=key_id)
    status = kms.get_key_rotation_status(KeyId=key_arn(key_id))
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 365
    assert abs(status["NextRotationDate"] - (before + dt.timedelta(days=365))) < dt.timedelta(hours=1)
    assert "OnDemandRotationStartDate" not in status

    # Calling again changes the period.
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["RotationPeriodInDays"] == 90
    assert abs(status["NextRotationDate"] - (before + dt.timedelta(days=90))) < dt.timedelta(hours=1)
    kms.enable_key_rotation(KeyId=key_arn(key_id), RotationPeriodInDays=2560)
    assert kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"] == 2560

    kms.disable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.disable_key_rotation(KeyId=key_arn(key_id))  # idempotent
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False


@pytest.mark.parametrize("days", [0, 89, 2561])
def test_rotation_period_out_of_range(kms, key_id, days):
    with kms_error("ValidationException", contains="rotationPeriodInDays"):
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=days)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False


def test_rotation_on_disabled_key(kms, key_id):
    kms.disable_key(KeyId=key_id)
    disabled = f"{key_arn(key_id)} is disabled."
    with kms_error("DisabledException", message=disabled):
        kms.enable_key_rotation(KeyId=key_id)
    with kms_error("DisabledException", message=disabled):
        kms.disable_key_rotation(KeyId=key_id)
    with kms_error("DisabledException", message=disabled):
        kms.rotate_key_on_demand(KeyId=key_id)
    # Reading works in any state.
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []


def test_rotation_while_pending_deletion(kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with kms_error("KMSInvalidStateException"):
        kms.rotate_key_on_demand(KeyId=key_id)
    with kms_error("KMSInvalidStateException"):
        kms.enable_key_rotation(KeyId=key_id)
    # A key pending deletion reports rotation off; cancelling restores it.
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.cancel_key_deletion(KeyId=key_id)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 180


def test_rotation_keeps_old_ciphertexts_decryptable(kms, key_id):
    context = {"rotation": "test"}
    materials = [current_material(kms, key_id)]
    blobs = [kms.encrypt(KeyId=key_id, Plaintext=b"generation 0", EncryptionContext=context)["CiphertextBlob"]]
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    for generation in (1, 2, 3):
        out = kms.rotate_key_on_demand(KeyId=key_id)
        assert out["KeyId"] in (key_id, key_arn(key_id))
        materials.append(current_material(kms, key_id))
        blobs.append(
            kms.encrypt(KeyId=key_id, Plaintext=f"generation {generation}".encode(), EncryptionContext=context)[
                "CiphertextBlob"
            ]
        )
    assert len(set(materials)) == 4 and all(MATERIAL_ID_RE.match(m) for m in materials)
    for generation, blob in enumerate(blobs):
        out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        assert out["Plaintext"] == f"generation {generation}".encode()
        assert out["KeyMaterialId"] == materials[generation]
    assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    # ReEncrypt moves an old ciphertext to the current material.
    re = kms.re_encrypt(
        CiphertextBlob=blobs[0],
        SourceEncryptionContext=context,
        DestinationKeyId=key_id,
        DestinationEncryptionContext=context,
    )
    assert re["SourceKeyMaterialId"] == materials[0]
    assert re["DestinationKeyMaterialId"] == materials[-1]
    assert kms.decrypt(CiphertextBlob=re["CiphertextBlob"], EncryptionContext=context)["Plaintext"] == b"generation 0"

    # ListKeyRotations: rotations only by default, oldest first, the last one current.
    rotations = rotations_of(kms, key_id)
    assert [r["KeyMaterialId"] for r in rotations] == materials[1:]
    assert all(r["KeyId"] in (key_id, key_arn(key_id)) for r in rotations)
    assert all(r["RotationType"] == "ON_DEMAND" for r in rotations)
    assert [r["KeyMaterialState"] for r in rotations] == ["NON_CURRENT", "NON_CURRENT", "CURRENT"]
    dates = [r["RotationDate"] for r in rotations]
    assert dates == sorted(dates)
    everything = rotations_of(kms, key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert [r["KeyMaterialId"] for r in everything] == materials
    assert everything[0]["KeyMaterialState"] == "NON_CURRENT"
    assert "RotationType" not in everything[0]


def test_on_demand_rotation_keeps_automatic_schedule(kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=400)
    before = kms.get_key_rotation_status(KeyId=key_id)
    kms.rotate_key_on_demand(KeyId=key_id)
    after = kms.get_key_rotation_status(KeyId=key_id)
    assert after["KeyRotationEnabled"] is True
    assert after["RotationPeriodInDays"] == 400
    assert after["NextRotationDate"] == before["NextRotationDate"]


def test_on_demand_rotation_limit(kms, key_id):
    blobs = []
    for i in range(MAX_ON_DEMAND_ROTATIONS):
        kms.rotate_key_on_demand(KeyId=key_id)
        if i % 8 == 0:
            blobs.append((i, kms.encrypt(KeyId=key_id, Plaintext=f"r{i}".encode())["CiphertextBlob"]))
    with kms_error(
        "LimitExceededException",
        message="The on-demand rotations limit has been reached for the given keyId. "
        f"No more on-demand rotations can be performed for this key: {key_arn(key_id)}",
    ):
        kms.rotate_key_on_demand(KeyId=key_id)
    assert len(rotations_of(kms, key_id)) == MAX_ON_DEMAND_ROTATIONS
    for i, blob in blobs:
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == f"r{i}".encode()


def test_list_key_rotations_of_unrotated_key(kms, key_id):
    out = kms.list_key_rotations(KeyId=key_id)
    assert out["Rotations"] == []
    assert out["Truncated"] is False
    assert "NextMarker" not in out
    with kms_error("ValidationException", contains="Member must satisfy enum value set"):
        kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="SOME")
