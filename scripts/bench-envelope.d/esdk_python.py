"""The Python peer of scripts/bench-envelope: aws-encryption-sdk (PyPI) encrypt and decrypt
throughput, and its caching materials manager, measured the way the Rust bench measures.

Without the optional Material Providers Library the Python SDK's raw AES keyring is
`RawMasterKey` with AES-256-GCM wrapping; it writes the same encrypted data keys.
Prints TSV rows (see crates/envelope/benches/envelope.rs): `tput` and `cache`.
"""

import argparse
import statistics
import sys
import time

import aws_encryption_sdk
from aws_encryption_sdk import CachingCryptoMaterialsManager, CommitmentPolicy, LocalCryptoMaterialsCache
from aws_encryption_sdk.identifiers import Algorithm, EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey

IMPL = "python-esdk"
# The same wrapping key, namespace, name and context as the Rust bench.
WRAPPING_KEY = bytes([0x5A] * 32)
KEY_NAMESPACE = "bench"
KEY_NAME = b"bench-aes-256"
CONTEXT = {"purpose": "bench"}
SUITES = {
    0x0478: Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    0x0578: Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
}
FRAME_LENGTH = 4096
SAMPLE_MIN_S = 0.020
CACHE_MESSAGE_LEN = 100


class CountingMasterKey(RawMasterKey):
    """A raw AES master key that counts the calls made to it (generate, encrypt or decrypt a
    data key), standing in for a KMS key. Generating also encrypts, internally: one call."""

    calls = 0

    def generate_data_key(self, algorithm, encryption_context):
        CountingMasterKey.calls += 1
        return super().generate_data_key(algorithm, encryption_context)

    def encrypt_data_key(self, data_key, algorithm, encryption_context):
        CountingMasterKey.calls += 1
        return super().encrypt_data_key(data_key, algorithm, encryption_context)

    def decrypt_data_key(self, encrypted_data_key, algorithm, encryption_context):
        CountingMasterKey.calls += 1
        return super().decrypt_data_key(encrypted_data_key, algorithm, encryption_context)


def master_key(cls=RawMasterKey):
    return cls(
        provider_id=KEY_NAMESPACE,
        key_id=KEY_NAME,
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=WRAPPING_KEY,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )


def pattern(n):
    """Deterministic non-constant plaintext (its content does not change the speed)."""
    block = bytes((i * 31 + i // 251) & 0xFF for i in range(65536))
    return (block * (n // len(block) + 1))[:n]


def measure(size, budget_s, min_samples, run):
    """`run(n)` performs n operations and returns the seconds they took. Calibrates n (the
    warm-up), then samples until the budget is spent. Returns best and median MB/s."""
    n = 1
    while True:
        took = run(n)
        if took >= SAMPLE_MIN_S:
            break
        n = max(n + 1, min(n * 100, int(n * SAMPLE_MIN_S / max(took, 1e-7) * 1.2) + 1))
    rates = []
    start = time.perf_counter()
    while len(rates) < min_samples or time.perf_counter() - start < budget_s:
        took = run(n)
        rates.append(size * n / took / 1e6)
    return max(rates), statistics.median_low(sorted(rates)), len(rates)


def timed(n, op):
    start = time.perf_counter()
    for _ in range(n):
        op()
    return time.perf_counter() - start


def bench_throughput(client, key, suite_id, size, budget_s, min_samples):
    plaintext = pattern(size)
    algorithm = SUITES[suite_id]

    def encrypt():
        return client.encrypt(
            source=plaintext,
            key_provider=key,
            encryption_context=CONTEXT,
            algorithm=algorithm,
            frame_length=FRAME_LENGTH,
        )[0]

    message = encrypt()
    decrypted, _ = client.decrypt(source=message, key_provider=key)
    assert decrypted == plaintext

    def decrypt():
        client.decrypt(source=message, key_provider=key)

    for op, fn in (("encrypt", encrypt), ("decrypt", decrypt)):
        best, median, samples = measure(size, budget_s, min_samples, lambda n, fn=fn: timed(n, fn))
        print(f"tput\t{IMPL}\t0x{suite_id:04x}\t{size}\t{op}\t{best:.3f}\t{median:.3f}\t{samples}", flush=True)


def bench_caching(client, suite_id, count):
    """`count` small messages through the caching materials manager: encrypt all, then
    decrypt all. Reports master key calls and messages per second."""
    CountingMasterKey.calls = 0
    cmm = CachingCryptoMaterialsManager(
        master_key_provider=master_key(CountingMasterKey),
        cache=LocalCryptoMaterialsCache(100),
        max_age=300.0,
    )
    plaintext = pattern(CACHE_MESSAGE_LEN)
    algorithm = SUITES[suite_id]
    start = time.perf_counter()
    messages = [
        client.encrypt(
            source=plaintext,
            materials_manager=cmm,
            encryption_context=CONTEXT,
            algorithm=algorithm,
            frame_length=FRAME_LENGTH,
        )[0]
        for _ in range(count)
    ]
    enc_rate = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for message in messages:
        client.decrypt(source=message, materials_manager=cmm)
    dec_rate = count / (time.perf_counter() - start)
    calls = CountingMasterKey.calls
    # The Python manager keeps no count of its underlying calls: "-" for that column.
    print(f"cache\t{IMPL}\t0x{suite_id:04x}\t{count}\t-\t{calls}\t{enc_rate:.0f}\t{dec_rate:.0f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1024,65536,1048576,67108864")
    parser.add_argument("--suites", default="0478,0578")
    parser.add_argument("--budget-ms", type=int, default=600)
    parser.add_argument("--min-samples", type=int, default=3)
    parser.add_argument("--cache-messages", type=int, default=0, help="0: skip the caching run")
    args = parser.parse_args()

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    key = master_key()
    suites = [int(s, 16) for s in args.suites.split(",")]
    for size in (int(s) for s in args.sizes.split(",")):
        for suite_id in suites:
            bench_throughput(client, key, suite_id, size, args.budget_ms / 1000, args.min_samples)
    if args.cache_messages:
        for suite_id in suites:
            bench_caching(client, suite_id, args.cache_messages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
