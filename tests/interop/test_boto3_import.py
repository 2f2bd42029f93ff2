"""Imported key material (BYOK) through boto3: wrap material offline with the wrapping public key
from GetParametersForImport (Python `cryptography`), import it, use it, delete it, import it again.
Expiry with the injected clock is tested in the Rust API tests."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from kms_helpers import key_arn, kms_error

NO_EXPIRY = "KEY_MATERIAL_DOES_NOT_EXPIRE"


def external_key(kms, spec="SYMMETRIC_DEFAULT", usage="ENCRYPT_DECRYPT") -> str:
    md = kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    assert md["KeyState"] == "PendingImport" and md["Enabled"] is False and md["Origin"] == "EXTERNAL"
    return md["KeyId"]


def wrap(params, algorithm: str, material: bytes) -> bytes:
    public = serialization.load_der_public_key(params["PublicKey"])
    digest = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def parameters(kms, key_id, algorithm, spec="RSA_2048"):
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)
    assert params["KeyId"] == key_arn(key_id)
    valid_for = params["ParametersValidTo"] - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(hours=23) < valid_for <= dt.timedelta(hours=24, minutes=1)
    return params


@pytest.mark.parametrize(
    ("algorithm", "spec"),
    [
        ("RSAES_OAEP_SHA_1", "RSA_2048"),
        ("RSAES_OAEP_SHA_256", "RSA_3072"),
        ("RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"),
        ("RSA_AES_KEY_WRAP_SHA_256", "RSA_4096"),
    ],
)
def test_symmetric_material_round_trip(kms, algorithm, spec):
    key_id = external_key(kms)
    material = os.urandom(32)
    params = parameters(kms, key_id, algorithm, spec)
    valid_to = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)
    out = kms.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params, algorithm, material),
        ValidTo=valid_to,
    )
    assert out["KeyId"] == key_arn(key_id) and len(out["KeyMaterialId"]) == 64
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "Enabled" and md["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert abs((md["ValidTo"] - valid_to).total_seconds()) < 1
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"byok data")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"byok data"


def test_delete_then_reimport_same_material_and_refuse_different(kms):
    key_id = external_key(kms)
    material = os.urandom(32)
    params = parameters(kms, key_id, "RSAES_OAEP_SHA_256")
    with kms_error("ValidationException", message="A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"):
        kms.import_key_material(
            KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrap(params, "RSAES_OAEP_SHA_256", material)
        )
    kms.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params, "RSAES_OAEP_SHA_256", material),
        ExpirationModel=NO_EXPIRY,
    )
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"kept")["CiphertextBlob"]
    with kms_error("UnsupportedOperationException"):
        kms.enable_key_rotation(KeyId=key_id)
    deleted = kms.delete_imported_key_material(KeyId=key_id)
    assert deleted["KeyId"] == key_arn(key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    with kms_error("KMSInvalidStateException", message=f"{key_arn(key_id)} is pending import."):
        kms.decrypt(CiphertextBlob=blob)
    params = parameters(kms, key_id, "RSA_AES_KEY_WRAP_SHA_256")
    with kms_error("IncorrectKeyMaterialException"):
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrap(params, "RSA_AES_KEY_WRAP_SHA_256", os.urandom(32)),
            ExpirationModel=NO_EXPIRY,
        )
    kms.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params, "RSA_AES_KEY_WRAP_SHA_256", material),
        ExpirationModel=NO_EXPIRY,
    )
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"


def test_import_errors(kms, key_id):
    with kms_error("UnsupportedOperationException", message=f"{key_arn(key_id)} origin is AWS_KMS which is not valid for this operation."):
        kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    with kms_error("UnsupportedOperationException"):
        kms.delete_imported_key_material(KeyId=key_id)
    ext = external_key(kms)
    other = external_key(kms)
    params = parameters(kms, ext, "RSAES_OAEP_SHA_256")
    wrapped = wrap(params, "RSAES_OAEP_SHA_256", os.urandom(32))
    with kms_error("InvalidImportTokenException"):
        kms.import_key_material(KeyId=other, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped, ExpirationModel=NO_EXPIRY)
    with kms_error("InvalidCiphertextException"):
        kms.import_key_material(
            KeyId=ext, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped[:-1] + b"\0", ExpirationModel=NO_EXPIRY
        )
    with kms_error("KMSInvalidStateException"):
        kms.encrypt(KeyId=ext, Plaintext=b"x")
    with kms_error("ValidationException"):
        kms.get_parameters_for_import(KeyId=ext, WrappingAlgorithm="RSAES_OAEP_SHA_512", WrappingKeySpec="RSA_2048")


def test_imported_rsa_signing_key_signs_like_the_original(kms):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_id = external_key(kms, "RSA_2048", "SIGN_VERIFY")
    params = parameters(kms, key_id, "RSA_AES_KEY_WRAP_SHA_256", "RSA_4096")
    kms.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params, "RSA_AES_KEY_WRAP_SHA_256", pkcs8),
        ExpirationModel=NO_EXPIRY,
    )
    public_der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == public_der
    signature = kms.sign(KeyId=key_id, Message=b"imported", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
    private.public_key().verify(signature, b"imported", padding.PKCS1v15(), hashes.SHA256())


def test_imported_ecdh_key_agrees_with_the_peer(kms):
    private = ec.generate_private_key(ec.SECP384R1())
    pkcs8 = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_id = external_key(kms, "ECC_NIST_P384", "KEY_AGREEMENT")
    params = parameters(kms, key_id, "RSA_AES_KEY_WRAP_SHA_1")
    kms.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params, "RSA_AES_KEY_WRAP_SHA_1", pkcs8),
        ExpirationModel=NO_EXPIRY,
    )
    peer = ec.generate_private_key(ec.SECP384R1())
    peer_spki = peer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    out = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer_spki)
    assert out["SharedSecret"] == peer.exchange(ec.ECDH(), private.public_key())
    assert out["KeyOrigin"] == "EXTERNAL"


def test_aliases_switch_between_imported_keys_for_manual_rotation(kms):
    """The documented rotation path for imported material: a new key, then UpdateAlias."""
    alias = f"alias/byok-{os.urandom(4).hex()}"
    keys = []
    for _ in range(2):
        key_id = external_key(kms)
        params = parameters(kms, key_id, "RSAES_OAEP_SHA_256")
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrap(params, "RSAES_OAEP_SHA_256", os.urandom(32)),
            ExpirationModel=NO_EXPIRY,
        )
        keys.append(key_id)
    kms.create_alias(AliasName=alias, TargetKeyId=keys[0])
    old = kms.encrypt(KeyId=alias, Plaintext=b"v1")["CiphertextBlob"]
    kms.update_alias(AliasName=alias, TargetKeyId=keys[1])
    new = kms.encrypt(KeyId=alias, Plaintext=b"v2")
    assert new["KeyId"] == key_arn(keys[1])
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"v1"
    assert kms.decrypt(CiphertextBlob=new["CiphertextBlob"])["Plaintext"] == b"v2"
