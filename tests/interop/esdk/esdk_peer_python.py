"""The official AWS Encryption SDK for Python as a test-vector peer of `esdk-vectors`.

Reads the same manifests and reports in the same one-line-per-test format:

    python esdk_peer_python.py encrypt --manifest ENCRYPT_MANIFEST --out DIR
    python esdk_peer_python.py decrypt --manifest DECRYPT_MANIFEST_OR_DIR

The SDK's raw master keys stand in for raw keyrings (they write the same encrypted data keys;
the keyring classes need the optional material-providers library). Several master keys in a
test become one provider; on encrypt the first one generates the data key. Python's limits:
frame lengths must be multiples of 128 bytes (others are skipped), there is no required
encryption context CMM without material-providers (skipped), and it still writes non-framed
messages (`frame-size` 0), which no other peer here does.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import (
    Algorithm,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey

CLIENT = {"name": "aws-encryption-sdk-python", "version": aws_encryption_sdk.__version__}
# aws_encryption_sdk.internal.utils.validate_frame_length: a multiple of the "block size",
# which the SDK takes as 128 (AES's block size in bits) and applies to bytes.
PYTHON_FRAME_MULTIPLE = 128

_AES = {
    16: WrappingAlgorithm.AES_128_GCM_IV12_TAG16_NO_PADDING,
    24: WrappingAlgorithm.AES_192_GCM_IV12_TAG16_NO_PADDING,
    32: WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
}
_RSA = {
    ("pkcs1", None): WrappingAlgorithm.RSA_PKCS1,
    ("oaep-mgf1", "sha1"): WrappingAlgorithm.RSA_OAEP_SHA1_MGF1,
    ("oaep-mgf1", "sha256"): WrappingAlgorithm.RSA_OAEP_SHA256_MGF1,
    ("oaep-mgf1", "sha384"): WrappingAlgorithm.RSA_OAEP_SHA384_MGF1,
    ("oaep-mgf1", "sha512"): WrappingAlgorithm.RSA_OAEP_SHA512_MGF1,
}


class Skip(Exception):
    """The test cannot run with this peer."""


@dataclass
class Results:
    lines: list[str] = field(default_factory=list)
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, test_id: str, status: str, reason: str | None = None) -> None:
        self.lines.append(f"{status} {test_id}" + (f": {reason}" if reason is not None else ""))
        if status == "PASS":
            self.passed += 1
        elif status == "FAIL":
            self.failed += 1
        else:
            self.skipped += 1

    @property
    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def _resolve(base: Path, uri: str) -> Path:
    if not uri.startswith("file://"):
        raise ValueError(f"unsupported URI {uri}")
    relative = uri[len("file://") :]
    if os.path.isabs(relative):
        raise ValueError(f"absolute URI {uri}")
    return base / relative


def _load_keys(manifest: dict, base: Path) -> dict:
    keys = json.loads(_resolve(base, manifest["keys"]).read_text())
    if keys["manifest"]["type"] != "keys":
        raise ValueError("not a keys manifest")
    out = {}
    for name, entry in keys["keys"].items():
        material = entry.get("material")
        if isinstance(material, list):
            material = entry.get("line-separator", "").join(material)
        out[name] = dict(entry, material=material, key_id=entry.get("key-id", name))
    return out


def _master_key(spec: dict, keys: dict, purpose: str) -> RawMasterKey | None:
    """A raw master key for one description; None if it cannot serve `purpose`."""
    if spec["type"] != "raw":
        raise Skip(f"master key type {spec['type']} needs AWS KMS or is not supported")
    key = keys[spec["key"]]
    key_id = spec.get("key-id", key["key_id"])
    if spec["encryption-algorithm"] == "aes":
        material = base64.b64decode(key["material"])
        wrapping = WrappingKey(
            wrapping_algorithm=_AES[len(material)],
            wrapping_key=material,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        )
    elif spec["encryption-algorithm"] == "rsa":
        padding = (spec["padding-algorithm"], spec.get("padding-hash"))
        if padding[0] == "pkcs1":
            padding = ("pkcs1", None)
        if key["type"] == "public" and purpose == "decrypt":
            return None  # a public key cannot decrypt; another entry of the test must
        key_type = EncryptionKeyType.PRIVATE if key["type"] == "private" else EncryptionKeyType.PUBLIC
        wrapping = WrappingKey(
            wrapping_algorithm=_RSA[padding],
            wrapping_key=key["material"].encode(),
            wrapping_key_type=key_type,
        )
    else:
        raise Skip(f"raw {spec['encryption-algorithm']}")
    return RawMasterKey(provider_id=spec["provider-id"], key_id=key_id.encode(), wrapping_key=wrapping)


def _provider(master_keys: list, keys: dict, purpose: str) -> RawMasterKey:
    members = [m for m in (_master_key(s, keys, purpose) for s in master_keys) if m is not None]
    if not members:
        raise ValueError("no master key of this test can decrypt")
    first, *rest = members
    for other in rest:
        first.add_master_key_provider(other)
    return first


def _check_cmm(test: dict) -> None:
    if test.get("cmm", "Default") != "Default":
        raise Skip(f"cmm {test['cmm']} needs the material-providers library")


def encrypt_manifest(manifest_path: Path, out_dir: Path) -> Results:
    """Runs an awses-encrypt manifest; writes messages and an awses-decrypt manifest."""
    manifest_path = Path(manifest_path)
    manifest = json.loads(manifest_path.read_text())
    if manifest["manifest"]["type"] != "awses-encrypt":
        raise ValueError("not an awses-encrypt manifest")
    base = manifest_path.parent
    keys = _load_keys(manifest, base)
    out_dir = Path(out_dir)
    (out_dir / "plaintexts").mkdir(parents=True, exist_ok=True)
    (out_dir / "ciphertexts").mkdir(parents=True, exist_ok=True)
    (out_dir / "keys.json").write_bytes(_resolve(base, manifest["keys"]).read_bytes())
    plaintexts = {}
    for name, size in manifest["plaintexts"].items():
        plaintexts[name] = os.urandom(size)
        (out_dir / "plaintexts" / name).write_bytes(plaintexts[name])
    results = Results()
    written = {}
    for test_id, test in manifest["tests"].items():
        try:
            _check_cmm(test)
            frame_length = test["frame-size"]
            if frame_length % PYTHON_FRAME_MULTIPLE != 0:
                raise Skip(f"the Python ESDK needs frame lengths that are multiples of {PYTHON_FRAME_MULTIPLE}")
            algorithm = Algorithm.get_by_id(int(test["algorithm"], 16))
            policy = (
                CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
                if algorithm.is_committing()
                else CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
            )
            client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=policy)
            context = test.get("encryption-context", {})
            ciphertext, _header = client.encrypt(
                source=plaintexts[test["plaintext"]],
                key_provider=_provider(test["master-keys"], keys, "encrypt"),
                encryption_context=context,
                algorithm=algorithm,
                frame_length=frame_length,
            )
            (out_dir / "ciphertexts" / test_id).write_bytes(ciphertext)
            written[test_id] = {
                "ciphertext": f"file://ciphertexts/{test_id}",
                "master-keys": test["master-keys"],
                "cmm": "Default",
                "encryption-context": context,
                "result": {"output": {"plaintext": f"file://plaintexts/{test['plaintext']}"}},
            }
            results.add(test_id, "PASS")
        except Skip as e:
            results.add(test_id, "SKIP", str(e))
        except Exception as e:  # noqa: BLE001 - every other failure is this test's FAIL
            results.add(test_id, "FAIL", f"{type(e).__name__}: {e}")
    decrypt_manifest = {
        "manifest": {"type": "awses-decrypt", "version": 4},
        "client": CLIENT,
        "keys": "file://keys.json",
        "tests": written,
    }
    (out_dir / "manifest.json").write_text(json.dumps(decrypt_manifest, indent=2, ensure_ascii=False))
    return results


def decrypt_manifest(manifest_path: Path) -> Results:
    """Runs an awses-decrypt manifest: plaintexts must match and contexts must hold the test's pairs."""
    manifest_path = Path(manifest_path)
    if manifest_path.is_dir():
        manifest_path = manifest_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if manifest["manifest"]["type"] != "awses-decrypt":
        raise ValueError("not an awses-decrypt manifest")
    base = manifest_path.parent
    keys = _load_keys(manifest, base)
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    )
    results = Results()
    for test_id, test in manifest["tests"].items():
        try:
            _check_cmm(test)
            provider = _provider(test["master-keys"], keys, "decrypt")
            ciphertext = _resolve(base, test["ciphertext"]).read_bytes()
            expected_uri = test.get("result", {}).get("output", {}).get("plaintext", test.get("plaintext"))
            try:
                plaintext, header = client.decrypt(source=ciphertext, key_provider=provider)
            except Exception as e:  # noqa: BLE001 - the SDK raises many error types
                if "error" in test.get("result", {}):
                    results.add(test_id, "PASS")
                    continue
                raise RuntimeError(f"decryption failed: {type(e).__name__}: {e}") from e
            if expected_uri is None:
                raise RuntimeError("decrypted, but the manifest expects an error")
            expected = _resolve(base, expected_uri).read_bytes()
            if plaintext != expected:
                raise RuntimeError(f"the plaintext differs ({len(plaintext)} bytes, expected {len(expected)})")
            for k, v in test.get("encryption-context", {}).items():
                if header.encryption_context.get(k) != v:
                    raise RuntimeError(f"encryption context pair {k!r} is missing or differs")
            results.add(test_id, "PASS")
        except Skip as e:
            results.add(test_id, "SKIP", str(e))
        except Exception as e:  # noqa: BLE001 - every other failure is this test's FAIL
            results.add(test_id, "FAIL", str(e))
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["encrypt", "decrypt"])
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "encrypt":
        if args.out is None:
            parser.error("encrypt needs --out DIR")
        results = encrypt_manifest(args.manifest, args.out)
    else:
        results = decrypt_manifest(args.manifest)
    print("\n".join(results.lines + [results.summary]))
    return 0 if results.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
