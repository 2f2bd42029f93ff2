"""Asymmetric, HMAC and key agreement keys through boto3, checked offline with `cryptography`:
Sign/Verify, GetPublicKey, RSA Encrypt/Decrypt, GenerateDataKeyPair(+WithoutPlaintext),
GenerateMac/VerifyMac, DeriveSharedSecret, rotation refusals, and that private material never
reaches the database or the server log in the clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from kms_helpers import key_arn, kms_error

HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}


def create(kms, spec: str, usage: str) -> str:
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]


def public_key(kms, key_id: str):
    out = kms.get_public_key(KeyId=key_id)
    assert out["KeyId"] == key_arn(key_id)
    return serialization.load_der_public_key(out["PublicKey"]), out


def offline_verify(public, algorithm: str, signature: bytes, message: bytes) -> None:
    """Raises InvalidSignature unless `signature` is the KMS signature of `message`."""
    digest = HASHES[algorithm[-3:]] if algorithm[-3:] in HASHES else None
    if algorithm.startswith("RSASSA_PSS"):
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        public.verify(signature, message, pss, digest)
    elif algorithm.startswith("RSASSA_PKCS1"):
        public.verify(signature, message, padding.PKCS1v15(), digest)
    elif algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(digest))
    else:
        public.verify(signature, message)


SIGNING_CASES = [
    ("RSA_2048", "RSASSA_PSS_SHA_256"),
    ("RSA_2048", "RSASSA_PSS_SHA_512"),
    ("RSA_3072", "RSASSA_PKCS1_V1_5_SHA_384"),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"),
]


@pytest.mark.parametrize(("spec", "algorithm"), SIGNING_CASES, ids=[f"{s}-{a}" for s, a in SIGNING_CASES])
def test_server_signatures_verify_offline(kms, spec, algorithm):
    key_id = create(kms, spec, "SIGN_VERIFY")
    public, meta = public_key(kms, key_id)
    assert meta["KeySpec"] == spec and meta["KeyUsage"] == "SIGN_VERIFY"
    assert algorithm in meta["SigningAlgorithms"]
    message = os.urandom(300)
    inputs = [("RAW", message)]
    if not algorithm.startswith("ED25519"):
        inputs.append(("DIGEST", hashlib.new("sha" + algorithm[-3:], message).digest()))
    for message_type, given in inputs:
        out = kms.sign(KeyId=key_id, Message=given, MessageType=message_type, SigningAlgorithm=algorithm)
        assert out["SigningAlgorithm"] == algorithm
        offline_verify(public, algorithm, out["Signature"], message)
        with pytest.raises(InvalidSignature):
            offline_verify(public, algorithm, out["Signature"], message + b"!")
        ok = kms.verify(
            KeyId=key_id,
            Message=given,
            MessageType=message_type,
            Signature=out["Signature"],
            SigningAlgorithm=algorithm,
        )
        assert ok["SignatureValid"] is True
    with kms_error("KMSInvalidSignatureException") as info:
        kms.verify(KeyId=key_id, Message=message + b"!", Signature=out["Signature"], SigningAlgorithm=algorithm)
    assert not info.value.response["Error"].get("Message")


def test_signatures_made_offline_verify_on_the_server_only_with_the_right_key(kms):
    key_id = create(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    stranger = ec.generate_private_key(ec.SECP256R1())
    signature = stranger.sign(b"hello", ec.ECDSA(hashes.SHA256()))
    with kms_error("KMSInvalidSignatureException"):
        kms.verify(KeyId=key_id, Message=b"hello", Signature=signature, SigningAlgorithm="ECDSA_SHA_256")


def test_sign_errors_match_aws(kms):
    key_id = create(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    with kms_error("ValidationException", message="Digest is invalid length for algorithm ECDSA_SHA_256."):
        kms.sign(KeyId=key_id, Message=b"x" * 20, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")
    with kms_error("InvalidKeyUsageException", message="Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256."):
        kms.sign(KeyId=key_id, Message=b"x", SigningAlgorithm="RSASSA_PSS_SHA_256")
    with kms_error("ValidationException", contains="Member must have length less than or equal to 4096"):
        kms.sign(KeyId=key_id, Message=b"x" * 4097, SigningAlgorithm="ECDSA_SHA_256")
    mac_key = create(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    with kms_error(
        "InvalidKeyUsageException",
        message=f"{key_arn(mac_key)} key usage is GENERATE_VERIFY_MAC which is not valid for Sign.",
    ):
        kms.sign(KeyId=mac_key, Message=b"x", SigningAlgorithm="ECDSA_SHA_256")
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    with kms_error("UnsupportedOperationException"):
        kms.get_public_key(KeyId=symmetric)


def test_describe_key_lists_algorithms_by_usage(kms):
    cases = {
        ("RSA_4096", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
        ("ECC_NIST_P521", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
        ("HMAC_384", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_384"]),
        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"): ("SigningAlgorithms", ["ED25519_SHA_512", "ED25519_PH_SHA_512"]),
    }
    for (spec, usage), (member, expected) in cases.items():
        md = kms.describe_key(KeyId=create(kms, spec, usage))["KeyMetadata"]
        assert md[member] == expected
        assert md["KeySpec"] == spec and md["KeyState"] == "Enabled"
        others = {"EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms"} - {member}
        assert not others & md.keys()
    with kms_error("ValidationException", message="KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"):
        kms.create_key(KeySpec="RSA_2048", KeyUsage="KEY_AGREEMENT")


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
def test_offline_rsa_encryption_decrypts_on_the_server(kms, spec):
    key_id = create(kms, spec, "ENCRYPT_DECRYPT")
    public, meta = public_key(kms, key_id)
    assert meta["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    bits = int(spec[-4:])
    for algorithm, digest in (("RSAES_OAEP_SHA_1", hashes.SHA1()), ("RSAES_OAEP_SHA_256", hashes.SHA256())):
        limit = bits // 8 - 2 * digest.digest_size - 2
        plaintext = os.urandom(limit)
        oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
        ciphertext = public.encrypt(plaintext, oaep)
        out = kms.decrypt(KeyId=key_id, CiphertextBlob=ciphertext, EncryptionAlgorithm=algorithm)
        assert out["Plaintext"] == plaintext and out["EncryptionAlgorithm"] == algorithm
        # And the other way: server ciphertext, checked by decrypting on the server only.
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionAlgorithm=algorithm)["CiphertextBlob"]
        assert kms.decrypt(KeyId=key_id, CiphertextBlob=blob, EncryptionAlgorithm=algorithm)["Plaintext"] == plaintext
        with kms_error(
            "ValidationException",
            message=f"Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {limit} bytes.",
        ):
            kms.encrypt(KeyId=key_id, Plaintext=os.urandom(limit + 1), EncryptionAlgorithm=algorithm)


def test_rsa_decrypt_errors(kms):
    key_id = create(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with kms_error("InvalidCiphertextException") as info:
        kms.decrypt(KeyId=key_id, CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert not info.value.response["Error"].get("Message")
    with kms_error("InvalidKeyUsageException"):
        kms.decrypt(KeyId=key_id, CiphertextBlob=blob)
    with kms_error("InvalidKeyUsageException"):
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"])
def test_generate_data_key_pair_halves_match(kms, key_id, spec):
    out = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec=spec, EncryptionContext={"pair": spec})
    assert out["KeyId"] == key_arn(key_id) and out["KeyPairSpec"] == spec
    private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], password=None)
    public = serialization.load_der_public_key(out["PublicKey"])
    assert private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == out["PublicKey"]
    if spec.startswith("RSA"):
        assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
        signature = private.sign(b"m", padding.PKCS1v15(), hashes.SHA256())
        public.verify(signature, b"m", padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(private.sign(b"m", ec.ECDSA(hashes.SHA256())), b"m", ec.ECDSA(hashes.SHA256()))
    decrypted = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext={"pair": spec})
    assert decrypted["Plaintext"] == out["PrivateKeyPlaintext"]
    without = kms.generate_data_key_pair_without_plaintext(KeyId=key_id, KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in without
    private = serialization.load_der_private_key(
        kms.decrypt(CiphertextBlob=without["PrivateKeyCiphertextBlob"])["Plaintext"], password=None
    )
    assert private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == without["PublicKey"]


def test_macs_round_trip_and_detect_tampering(kms):
    key_id = create(kms, "HMAC_512", "GENERATE_VERIFY_MAC")
    message = os.urandom(1000)
    out = kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_512")
    assert out["MacAlgorithm"] == "HMAC_SHA_512" and len(out["Mac"]) == 64
    assert kms.verify_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_512", Mac=out["Mac"])["MacValid"]
    tampered = bytes([out["Mac"][0] ^ 1]) + out["Mac"][1:]
    with kms_error("KMSInvalidMacException") as info:
        kms.verify_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_512", Mac=tampered)
    assert not info.value.response["Error"].get("Message")
    with kms_error("KMSInvalidMacException"):
        kms.verify_mac(KeyId=key_id, Message=message + b"x", MacAlgorithm="HMAC_SHA_512", Mac=out["Mac"])
    with kms_error("InvalidKeyUsageException", message="Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_512."):
        kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_256")
    # A different key gives a different MAC (the key, not just the message, is in the tag).
    other = create(kms, "HMAC_512", "GENERATE_VERIFY_MAC")
    assert kms.generate_mac(KeyId=other, Message=message, MacAlgorithm="HMAC_SHA_512")["Mac"] != out["Mac"]
    assert not hmac.compare_digest(out["Mac"], hashlib.sha512(message).digest())


@pytest.mark.parametrize(
    ("spec", "curve"),
    [("ECC_NIST_P256", ec.SECP256R1()), ("ECC_NIST_P384", ec.SECP384R1()), ("ECC_NIST_P521", ec.SECP521R1())],
)
def test_derive_shared_secret_equals_offline_ecdh(kms, spec, curve):
    key_id = create(kms, spec, "KEY_AGREEMENT")
    kms_public, meta = public_key(kms, key_id)
    assert meta["KeyAgreementAlgorithms"] == ["ECDH"]
    peer = ec.generate_private_key(curve)
    peer_spki = peer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    out = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer_spki)
    assert out["SharedSecret"] == peer.exchange(ec.ECDH(), kms_public)
    assert out["KeyAgreementAlgorithm"] == "ECDH" and out["KeyOrigin"] == "AWS_KMS"
    raw_point = peer.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    with kms_error("ValidationException"):
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=raw_point)


def test_rotation_is_refused_for_asymmetric_and_hmac_keys(kms):
    for spec, usage in (("ECC_NIST_P256", "SIGN_VERIFY"), ("HMAC_224", "GENERATE_VERIFY_MAC")):
        key_id = create(kms, spec, usage)
        with kms_error("UnsupportedOperationException"):
            kms.enable_key_rotation(KeyId=key_id)
        with kms_error("UnsupportedOperationException"):
            kms.get_key_rotation_status(KeyId=key_id)
        with kms_error("UnsupportedOperationException"):
            kms.rotate_key_on_demand(KeyId=key_id)


@pytest.mark.cli
def test_the_aws_cli_drives_the_asymmetric_and_hmac_operations(aws, kms, tmp_path):
    """Sign/Verify, GetPublicKey, GenerateMac/VerifyMac, GenerateDataKeyPair(+WithoutPlaintext),
    DeriveSharedSecret and RSA Encrypt/Decrypt through `aws kms`. The CLI prints blobs as
    base64 and reads binary input from fileb:// files."""

    def blob_file(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return f"fileb://{path}"

    message = blob_file("message.bin", b"hello from the cli")
    ecc = aws("create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY").data["KeyMetadata"]["KeyId"]
    signed = aws("sign", "--key-id", ecc, "--message", message, "--signing-algorithm", "ECDSA_SHA_256").data
    signature = blob_file("signature.bin", base64.b64decode(signed["Signature"]))
    verified = aws(
        "verify", "--key-id", ecc, "--message", message, "--signature", signature, "--signing-algorithm", "ECDSA_SHA_256"
    ).data
    assert verified["SignatureValid"] is True
    bad = aws(
        "verify", "--key-id", ecc, "--message", blob_file("other.bin", b"other"), "--signature", signature,
        "--signing-algorithm", "ECDSA_SHA_256", check=False,
    )
    assert bad.returncode != 0 and "(KMSInvalidSignatureException)" in bad.stderr
    public = aws("get-public-key", "--key-id", ecc).data
    offline_verify(serialization.load_der_public_key(base64.b64decode(public["PublicKey"])), "ECDSA_SHA_256",
                   base64.b64decode(signed["Signature"]), b"hello from the cli")

    mac_key = aws("create-key", "--key-spec", "HMAC_256", "--key-usage", "GENERATE_VERIFY_MAC").data["KeyMetadata"]["KeyId"]
    mac = aws("generate-mac", "--key-id", mac_key, "--message", message, "--mac-algorithm", "HMAC_SHA_256").data["Mac"]
    assert aws(
        "verify-mac", "--key-id", mac_key, "--message", message, "--mac-algorithm", "HMAC_SHA_256",
        "--mac", blob_file("mac.bin", base64.b64decode(mac)),
    ).data["MacValid"] is True

    symmetric = aws("create-key").data["KeyMetadata"]["KeyId"]
    pair = aws("generate-data-key-pair", "--key-id", symmetric, "--key-pair-spec", "ECC_NIST_P384").data
    private = serialization.load_der_private_key(base64.b64decode(pair["PrivateKeyPlaintext"]), password=None)
    assert private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == base64.b64decode(pair["PublicKey"])
    without = aws("generate-data-key-pair-without-plaintext", "--key-id", symmetric, "--key-pair-spec", "RSA_2048").data
    assert "PrivateKeyPlaintext" not in without

    agreement = aws("create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "KEY_AGREEMENT").data["KeyMetadata"]["KeyId"]
    peer = ec.generate_private_key(ec.SECP256R1())
    peer_spki = peer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    shared = aws(
        "derive-shared-secret", "--key-id", agreement, "--key-agreement-algorithm", "ECDH",
        "--public-key", blob_file("peer.der", peer_spki),
    ).data["SharedSecret"]
    kms_public = serialization.load_der_public_key(kms.get_public_key(KeyId=agreement)["PublicKey"])
    assert base64.b64decode(shared) == peer.exchange(ec.ECDH(), kms_public)

    rsa_key = aws("create-key", "--key-spec", "RSA_2048", "--key-usage", "ENCRYPT_DECRYPT").data["KeyMetadata"]["KeyId"]
    blob = aws(
        "encrypt", "--key-id", rsa_key, "--plaintext", message, "--encryption-algorithm", "RSAES_OAEP_SHA_256"
    ).data["CiphertextBlob"]
    plain = aws(
        "decrypt", "--key-id", rsa_key, "--ciphertext-blob", blob_file("rsa.bin", base64.b64decode(blob)),
        "--encryption-algorithm", "RSAES_OAEP_SHA_256",
    ).data["Plaintext"]
    assert base64.b64decode(plain) == b"hello from the cli"


def test_ed25519_data_key_pairs(kms, key_id):
    out = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_EDWARDS25519")
    private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    public = serialization.load_der_public_key(out["PublicKey"])
    public.verify(private.sign(b"m"), b"m")


def test_private_material_never_reaches_the_database_or_log_in_the_clear(kms, key_id, server):
    """Data key pairs and HMAC keys leave the server only in responses; the private halves must
    not be written anywhere. (The in-process Rust test checks the KMS keys' own material.)"""
    secrets = []
    for spec in ("RSA_2048", "ECC_NIST_P256"):
        secrets.append(kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec=spec)["PrivateKeyPlaintext"])
    for spec, usage in (("ECC_NIST_P256", "SIGN_VERIFY"), ("RSA_2048", "ENCRYPT_DECRYPT")):
        create(kms, spec, usage)
    data = b""
    for path in server.data_dir.iterdir():
        if path.name.startswith("kms.sqlite3"):
            data += path.read_bytes()
    log = server.log_path.read_bytes()
    assert data and log
    for secret in secrets:
        private = serialization.load_der_private_key(secret, password=None)
        if isinstance(private, rsa.RSAPrivateKey):
            scalar = private.private_numbers().d.to_bytes(256, "big")
        else:
            scalar = private.private_numbers().private_value.to_bytes(32, "big")
        for haystack in (data, log):
            assert scalar[:24] not in haystack
            assert scalar[:24].hex().encode() not in haystack
            assert secret[-40:] not in haystack


@pytest.mark.parametrize("spec", ["ML_DSA_44", "ML_DSA_65", "ML_DSA_87"])
def test_ml_dsa_signatures_verify_offline(kms, spec):
    pytest.importorskip("cryptography.hazmat.primitives.asymmetric.mldsa", reason="cryptography without ML-DSA")
    key_id = create(kms, spec, "SIGN_VERIFY")
    public, meta = public_key(kms, key_id)
    assert meta["SigningAlgorithms"] == ["ML_DSA_SHAKE_256"]
    message = os.urandom(4096)
    signature = kms.sign(KeyId=key_id, Message=message, SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    public.verify(signature, message)
    with pytest.raises(InvalidSignature):
        public.verify(signature, message[:-1])
    assert kms.verify(KeyId=key_id, Message=message, Signature=signature, SigningAlgorithm="ML_DSA_SHAKE_256")[
        "SignatureValid"
    ]
    with kms_error("UnsupportedOperationException"):
        kms.sign(KeyId=key_id, Message=os.urandom(64), MessageType="EXTERNAL_MU", SigningAlgorithm="ML_DSA_SHAKE_256")


def test_ed25519ph_signs_sha512_digests_only(kms):
    # Python `cryptography` verifies pure Ed25519 only (no Ed25519ph), so the prehashed
    # signature is checked through KMS here and against RFC 8032's Ed25519ph vector in
    # the Rust unit tests (keypairs/ed25519ph.rs).
    key_id = create(kms, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    public, _ = public_key(kms, key_id)
    message = os.urandom(300)
    digest = hashlib.sha512(message).digest()
    ph = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")
    assert ph["SigningAlgorithm"] == "ED25519_PH_SHA_512" and len(ph["Signature"]) == 64
    ok = kms.verify(
        KeyId=key_id,
        Message=digest,
        MessageType="DIGEST",
        Signature=ph["Signature"],
        SigningAlgorithm="ED25519_PH_SHA_512",
    )
    assert ok["SignatureValid"] is True
    with kms_error("ValidationException", message="The ED25519_PH_SHA_512 signing algorithm requires MessageType DIGEST."):
        kms.sign(KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="ED25519_PH_SHA_512")
    with kms_error("ValidationException"):
        kms.sign(KeyId=key_id, Message=digest[:32], MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")
    # Pure and prehashed signatures never verify as each other.
    pure = kms.sign(KeyId=key_id, Message=message, SigningAlgorithm="ED25519_SHA_512")["Signature"]
    with kms_error("KMSInvalidSignatureException"):
        kms.verify(
            KeyId=key_id, Message=digest, MessageType="DIGEST", Signature=pure, SigningAlgorithm="ED25519_PH_SHA_512"
        )
    with kms_error("KMSInvalidSignatureException"):
        kms.verify(KeyId=key_id, Message=message, Signature=ph["Signature"], SigningAlgorithm="ED25519_SHA_512")
    public.verify(pure, message)
    with pytest.raises(InvalidSignature):
        public.verify(ph["Signature"], message)
