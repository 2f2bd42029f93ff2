"""Cryptographic operations through boto3: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext, GenerateRandom."""

from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError

from kms_helpers import key_arn, kms_error, unique_alias

CONTEXT = {"purpose": "interop", "tenant": "t-42"}
DRY_RUN_MESSAGE = "The request would have succeeded, but the DryRun option is set."


def expect_invalid_ciphertext(call):
    """InvalidCiphertextException carries no message."""
    with kms_error("InvalidCiphertextException") as info:
        call()
    assert not info.value.response["Error"].get("Message"), info.value.response["Error"]


def test_encrypt_decrypt_round_trip(kms, key_id):
    plaintext = os.urandom(100)
    out = kms.encrypt(KeyId=key_id, Plaintext=plaintext)
    assert out["KeyId"] == key_arn(key_id)
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = out["CiphertextBlob"]
    assert plaintext not in blob
    back = kms.decrypt(CiphertextBlob=blob)
    assert back["Plaintext"] == plaintext
    assert back["KeyId"] == key_arn(key_id)
    assert back["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert back["KeyMaterialId"] == kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    # KeyId may be given in any form when it is the right key.
    for ident in (key_id, key_arn(key_id)):
        assert kms.decrypt(CiphertextBlob=blob, KeyId=ident)["Plaintext"] == plaintext
    assert kms.decrypt(CiphertextBlob=blob, EncryptionAlgorithm="SYMMETRIC_DEFAULT")["Plaintext"] == plaintext


def test_encryption_is_randomised(kms, key_id):
    a = kms.encrypt(KeyId=key_id, Plaintext=b"same")["CiphertextBlob"]
    b = kms.encrypt(KeyId=key_id, Plaintext=b"same")["CiphertextBlob"]
    assert a != b


def test_plaintext_size_limits(kms, key_id):
    for size in (1, 4096):
        data = os.urandom(size)
        blob = kms.encrypt(KeyId=key_id, Plaintext=data)["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == data
    with kms_error(
        "ValidationException",
        message="1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length less than or equal to 4096",
    ):
        kms.encrypt(KeyId=key_id, Plaintext=b"x" * 4097)
    with kms_error("ValidationException", contains="'plaintext'"):
        kms.encrypt(KeyId=key_id, Plaintext=b"")
    with kms_error("ValidationException", contains="Value null at 'plaintext'"):
        kms.encrypt(KeyId=key_id)
    with kms_error("ValidationException", contains="Value null at 'keyId'"):
        kms.encrypt(Plaintext=b"x")


def test_encryption_context_must_match_exactly(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"bound", EncryptionContext=CONTEXT)["CiphertextBlob"]
    # Same pairs in a different order is the same context.
    reordered = dict(reversed(list(CONTEXT.items())))
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b"bound"
    for wrong in (
        None,
        {},
        {"purpose": "interop"},
        {**CONTEXT, "extra": "pair"},
        {**CONTEXT, "tenant": "t-43"},
        {"Purpose": "interop", "tenant": "t-42"},
        {"purpose": "INTEROP", "tenant": "t-42"},
    ):
        kwargs = {} if wrong is None else {"EncryptionContext": wrong}
        expect_invalid_ciphertext(lambda: kms.decrypt(CiphertextBlob=blob, **kwargs))
    # A ciphertext made without context does not decrypt with one.
    plain_blob = kms.encrypt(KeyId=key_id, Plaintext=b"unbound")["CiphertextBlob"]
    expect_invalid_ciphertext(lambda: kms.decrypt(CiphertextBlob=plain_blob, EncryptionContext=CONTEXT))


def test_encryption_context_with_unicode_and_empty_values(kms, key_id):
    context = {"naïve-key": "välue ✓", "empty": "", "spaces": " a b "}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"u", EncryptionContext=context)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"u"
    expect_invalid_ciphertext(
        lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={**context, "spaces": "a b"})
    )


def test_tampered_ciphertext_is_invalid(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"0123456789abcdef" * 2)["CiphertextBlob"]
    variants = {
        "last byte flipped": blob[:-1] + bytes([blob[-1] ^ 0x01]),
        "middle byte flipped": blob[: len(blob) // 2] + bytes([blob[len(blob) // 2] ^ 0x80]) + blob[len(blob) // 2 + 1 :],
        "first byte flipped": bytes([blob[0] ^ 0xFF]) + blob[1:],
        "truncated": blob[:-1],
        "extended": blob + b"\x00",
        "header only": blob[:20],
        "random bytes": os.urandom(len(blob)),
        "one byte": b"\x01",
    }
    for name, bad in variants.items():
        assert bad != blob, name
        expect_invalid_ciphertext(lambda: kms.decrypt(CiphertextBlob=bad))
    # The original still decrypts.
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"0123456789abcdef" * 2


def test_ciphertext_size_limits(kms):
    with kms_error("ValidationException", contains="'ciphertextBlob'"):
        kms.decrypt(CiphertextBlob=b"")
    with kms_error("ValidationException", contains="Member must have length less than or equal to 6144"):
        kms.decrypt(CiphertextBlob=b"\x01" * 6145)
    with kms_error("ValidationException", contains="Value null at 'ciphertextBlob'"):
        kms.decrypt()


def test_decrypt_with_wrong_key_id_is_incorrect_key(kms, key_id, other_key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"mine")["CiphertextBlob"]
    other_alias = unique_alias("other")
    kms.create_alias(AliasName=other_alias, TargetKeyId=other_key_id)
    message = "The key ID in the request does not identify a CMK that can perform this operation."
    for wrong in (other_key_id, key_arn(other_key_id), other_alias):
        with kms_error("IncorrectKeyException", message=message):
            kms.decrypt(CiphertextBlob=blob, KeyId=wrong)


def test_decrypt_with_unknown_key_id(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as info:
        kms.decrypt(CiphertextBlob=blob, KeyId="alias/does-not-exist-anywhere")
    assert info.value.response["Error"]["Code"] in {"NotFoundException", "IncorrectKeyException"}


def test_decrypt_with_disabled_key(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    with kms_error("DisabledException", message=f"{key_arn(key_id)} is disabled."):
        kms.decrypt(CiphertextBlob=blob)
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_wrong_encryption_algorithm_for_symmetric_key(kms, key_id):
    with kms_error("InvalidKeyUsageException"):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    with kms_error("InvalidKeyUsageException"):
        kms.decrypt(CiphertextBlob=blob, KeyId=key_id, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    with kms_error("ValidationException", contains="Member must satisfy enum value set"):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionAlgorithm="ROT13")


def test_dry_run(kms, key_id):
    with kms_error("DryRunOperationException", message=DRY_RUN_MESSAGE):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", DryRun=True)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    with kms_error("DryRunOperationException", message=DRY_RUN_MESSAGE):
        kms.decrypt(CiphertextBlob=blob, DryRun=True)
    with kms_error("DryRunOperationException", message=DRY_RUN_MESSAGE):
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", DryRun=True)
    # A dry run against a disabled key reports the real error.
    kms.disable_key(KeyId=key_id)
    with kms_error("DisabledException"):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", DryRun=True)


def test_re_encrypt(kms, key_id, other_key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"move me", EncryptionContext=CONTEXT)["CiphertextBlob"]
    new_context = {"stage": "two"}
    out = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=CONTEXT,
        DestinationKeyId=other_key_id,
        DestinationEncryptionContext=new_context,
    )
    assert out["SourceKeyId"] == key_arn(key_id)
    assert out["KeyId"] == key_arn(other_key_id)
    assert out["SourceEncryptionAlgorithm"] == out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    described = {
        k: kms.describe_key(KeyId=k)["KeyMetadata"]["CurrentKeyMaterialId"] for k in (key_id, other_key_id)
    }
    assert out["SourceKeyMaterialId"] == described[key_id]
    assert out["DestinationKeyMaterialId"] == described[other_key_id]
    moved = out["CiphertextBlob"]
    back = kms.decrypt(CiphertextBlob=moved, EncryptionContext=new_context)
    assert back["Plaintext"] == b"move me"
    assert back["KeyId"] == key_arn(other_key_id)
    expect_invalid_ciphertext(lambda: kms.decrypt(CiphertextBlob=moved, EncryptionContext=CONTEXT))
    # With explicit SourceKeyId, to the same key, via alias.
    alias = unique_alias("re")
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    same = kms.re_encrypt(
        CiphertextBlob=blob, SourceKeyId=key_arn(key_id), SourceEncryptionContext=CONTEXT, DestinationKeyId=alias
    )
    assert same["KeyId"] == key_arn(key_id)
    assert kms.decrypt(CiphertextBlob=same["CiphertextBlob"])["Plaintext"] == b"move me"


def test_re_encrypt_errors(kms, key_id, other_key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=CONTEXT)["CiphertextBlob"]
    expect_invalid_ciphertext(lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other_key_id))
    with kms_error("IncorrectKeyException"):
        kms.re_encrypt(
            CiphertextBlob=blob,
            SourceKeyId=other_key_id,
            SourceEncryptionContext=CONTEXT,
            DestinationKeyId=other_key_id,
        )
    with kms_error("ValidationException", contains="Value null at 'destinationKeyId'"):
        kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=CONTEXT)
    kms.disable_key(KeyId=other_key_id)
    with kms_error("DisabledException", message=f"{key_arn(other_key_id)} is disabled."):
        kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=CONTEXT, DestinationKeyId=other_key_id)
    kms.enable_key(KeyId=other_key_id)
    kms.disable_key(KeyId=key_id)
    with kms_error("DisabledException", message=f"{key_arn(key_id)} is disabled."):
        kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=CONTEXT, DestinationKeyId=other_key_id)


@pytest.mark.parametrize(
    ("params", "length"),
    [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16), ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 1024}, 1024)],
    ids=["AES_256", "AES_128", "1-byte", "1024-bytes"],
)
def test_generate_data_key(kms, key_id, params, length):
    out = kms.generate_data_key(KeyId=key_id, EncryptionContext=CONTEXT, **params)
    assert out["KeyId"] == key_arn(key_id)
    assert len(out["Plaintext"]) == length
    assert out["KeyMaterialId"] == kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=CONTEXT)
    assert back["Plaintext"] == out["Plaintext"]
    expect_invalid_ciphertext(lambda: kms.decrypt(CiphertextBlob=out["CiphertextBlob"]))


def test_generate_data_keys_differ(kms, key_id):
    a = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["Plaintext"]
    b = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["Plaintext"]
    assert a != b


def test_generate_data_key_without_plaintext(kms, key_id):
    alias = unique_alias("gdkwp")
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    out = kms.generate_data_key_without_plaintext(KeyId=alias, KeySpec="AES_256", EncryptionContext=CONTEXT)
    assert "Plaintext" not in out
    assert out["KeyId"] == key_arn(key_id)
    assert len(kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=CONTEXT)["Plaintext"]) == 32
    out = kms.generate_data_key_without_plaintext(KeyId=key_id, NumberOfBytes=64)
    assert len(kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"]) == 64


@pytest.mark.parametrize("operation", ["generate_data_key", "generate_data_key_without_plaintext"])
def test_generate_data_key_errors(kms, key_id, operation):
    call = getattr(kms, operation)
    with kms_error("ValidationException"):
        call(KeyId=key_id)  # neither KeySpec nor NumberOfBytes
    with kms_error("ValidationException"):
        call(KeyId=key_id, KeySpec="AES_256", NumberOfBytes=32)  # both
    with kms_error(
        "ValidationException",
        message="1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ):
        call(KeyId=key_id, NumberOfBytes=0)
    with kms_error(
        "ValidationException",
        message="1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value less than or equal to 1024",
    ):
        call(KeyId=key_id, NumberOfBytes=1025)
    with kms_error("ValidationException", contains="Member must satisfy enum value set: [AES_256, AES_128]"):
        call(KeyId=key_id, KeySpec="AES_512")
    kms.disable_key(KeyId=key_id)
    with kms_error("DisabledException"):
        call(KeyId=key_id, KeySpec="AES_256")


@pytest.mark.parametrize("size", [1, 32, 1024])
def test_generate_random(kms, size):
    a = kms.generate_random(NumberOfBytes=size)["Plaintext"]
    assert len(a) == size
    if size >= 32:
        assert a != kms.generate_random(NumberOfBytes=size)["Plaintext"]


def test_generate_random_errors(kms):
    with kms_error(
        "ValidationException",
        message="1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ):
        kms.generate_random(NumberOfBytes=0)
    with kms_error(
        "ValidationException",
        message="1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value less than or equal to 1024",
    ):
        kms.generate_random(NumberOfBytes=1025)
    with kms_error("ValidationException", message="NumberOfBytes is required."):
        kms.generate_random()


def test_generate_random_unknown_custom_key_store(kms):
    with kms_error("CustomKeyStoreNotFoundException"):
        kms.generate_random(NumberOfBytes=16, CustomKeyStoreId="cks-1234567890abcdef0")
