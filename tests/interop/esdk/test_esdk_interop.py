"""kms-envelope against the official AWS Encryption SDKs for Python and JavaScript.

One `awses-encrypt` manifest (the framework's format) describes the matrix. Each producer
(our `esdk-vectors` tool, the Python ESDK in this process, the JS ESDK through
`esdk_peer.mjs`) encrypts it and writes an `awses-decrypt` manifest with its messages; the
consumers then decrypt those: Python and JS decrypt ours, ours decrypts theirs.

The matrix: all 11 suites with raw AES, raw RSA and a multi-keyring (AES generator, RSA
child), empty and unicode encryption contexts. Two suites (0x0578 and 0x0178, one of each
message format) get every plaintext size: 0, 1, frame length - 1, frame length, frame
length + 1 and 1 MiB; the other nine get 1 and frame length + 1. Also: RSA multi-keyrings
with a public-key-only entry, odd frame lengths (1 and 1000; Python cannot write them) and
non-framed messages (only Python can write them). Keys are made fresh for each run.

Needs no kms-server. The tool is `$ESDK_VECTORS_BIN` (default `target/debug/esdk-vectors`);
node comes from PATH, with tests/interop/esdk/node_modules installed by scripts/setup.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))

import esdk_peer_python  # noqa: E402 - needs the path above

SUITES = ["0014", "0046", "0078", "0114", "0146", "0178", "0214", "0346", "0378", "0478", "0578"]
FULL_SIZE_SUITES = ["0578", "0178"]
FRAME = 1024
SIZES = {
    "empty": 0,
    "one": 1,
    "frame-minus-1": FRAME - 1,
    "frame": FRAME,
    "frame-plus-1": FRAME + 1,
    "1MiB": 1 << 20,
}
ODD_SIZES = {"odd-999": 999, "odd-1000": 1000, "odd-1001": 1001, "three": 3}
RSA_PADDINGS = [
    ("pkcs1", None),
    ("oaep-mgf1", "sha1"),
    ("oaep-mgf1", "sha256"),
    ("oaep-mgf1", "sha384"),
    ("oaep-mgf1", "sha512"),
]
NAMESPACE = "kms-envelope-interop"
CONTEXTS = {
    "empty-ec": {},
    # Upper case before lower case and an astral key before a private-use one: UTF-8 byte
    # order (the spec's) differs from String.localeCompare and from UTF-16 code unit order.
    "unicode-ec": {
        "Zeta": "upper case sorts first in UTF-8",
        "alpha": "lower case",
        "clé": "välue ☃",
        "\U00010348": "gothic hwair (astral)",
        "\ue000": "private use",
        "": "empty key",
        "empty value": "",
    },
}
RUN_TIMEOUT_S = 600


def _aes(bits: int) -> dict:
    return {"type": "raw", "key": f"aes-{bits}", "provider-id": NAMESPACE, "encryption-algorithm": "aes"}


def _rsa(padding: tuple[str, str | None], key: str = "rsa-private") -> dict:
    spec = {"type": "raw", "key": key, "provider-id": NAMESPACE, "encryption-algorithm": "rsa"}
    spec["padding-algorithm"] = padding[0]
    if padding[1]:
        spec["padding-hash"] = padding[1]
    return spec


def _keys() -> dict:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    keys = {}
    for bits in (128, 192, 256):
        keys[f"aes-{bits}"] = {
            "key-id": f"aes-{bits}", "type": "symmetric", "algorithm": "aes", "bits": bits,
            "encoding": "base64", "material": base64.b64encode(os.urandom(bits // 8)).decode(),
            "encrypt": True, "decrypt": True,
        }
    for name, kind, pem in (("rsa-private", "private", private_pem), ("rsa-public", "public", public_pem)):
        keys[name] = {
            "key-id": name, "type": kind, "algorithm": "rsa", "bits": 2048, "encoding": "pem",
            "material": pem, "encrypt": True, "decrypt": kind == "private",
        }
    return {"manifest": {"type": "keys", "version": 3}, "keys": keys}


def _matrix() -> dict:
    """The encrypt manifest's tests, by id."""
    tests = {}
    counter = {"rsa": 0, "aes": 0}

    def next_padding():
        counter["rsa"] += 1
        return RSA_PADDINGS[counter["rsa"] % len(RSA_PADDINGS)]

    def keyring(kind: str) -> list:
        if kind == "aes":
            counter["aes"] += 1
            return [_aes((128, 192, 256)[counter["aes"] % 3])]
        if kind == "rsa":
            return [_rsa(next_padding())]
        if kind == "multi":
            return [_aes(256), _rsa(next_padding())]
        # Two RSA entries; the second holds only a public key, so only the first can decrypt.
        return [_rsa(next_padding()), _rsa(("oaep-mgf1", "sha256"), key="rsa-public")]

    def add(suite, kind, ec, plaintext, frame=FRAME):
        test_id = f"{suite}-{kind}-{ec}-{plaintext}-f{frame}"
        tests[test_id] = {
            "plaintext": plaintext, "algorithm": suite, "frame-size": frame,
            "encryption-context": CONTEXTS[ec], "master-keys": keyring(kind),
        }

    for suite in FULL_SIZE_SUITES:
        for size in SIZES:
            for kind in ("aes", "rsa", "multi"):
                for ec in CONTEXTS:
                    add(suite, kind, ec, size)
    n = 0
    for suite in (s for s in SUITES if s not in FULL_SIZE_SUITES):
        for size in ("one", "frame-plus-1"):
            for kind in ("aes", "rsa", "multi"):
                n += 1
                add(suite, kind, list(CONTEXTS)[n % 2], size)
    for suite in ("0578", "0346", "0014"):
        add(suite, "multi-rsa-public", "unicode-ec", "frame-plus-1")
    for size in ("odd-999", "odd-1000", "odd-1001"):
        add("0578", "aes", "unicode-ec", size, frame=1000)
    add("0178", "aes", "unicode-ec", "three", frame=1)
    for suite in ("0578", "0178", "0014"):
        add(suite, "aes", "unicode-ec", "frame-plus-1", frame=0)
    return tests


def _tool() -> Path:
    configured = os.environ.get("ESDK_VECTORS_BIN")
    if configured:
        assert Path(configured).is_file(), f"ESDK_VECTORS_BIN={configured} does not exist"
        return Path(configured)
    default = REPO / "target" / "debug" / "esdk-vectors"
    if not default.is_file():
        pytest.skip("esdk-vectors is not built: cargo build -p kms-envelope --bins")
    return default


def _node() -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    if not (HERE / "node_modules" / "@aws-crypto" / "client-node").is_dir():
        pytest.skip("the JS ESDK is not installed: scripts/setup (npm ci --prefix tests/interop/esdk)")
    # Node 20 refuses RSA PKCS #1 v1.5 decryption unless this security fix is reverted.
    revert = "--security-revert=CVE-2023-46809"
    probe = subprocess.run([node, revert, "-e", "0"], capture_output=True, check=False)
    return [node, revert] if probe.returncode == 0 else [node]


def _run(command: list, env: dict | None = None) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        check=False, env=None if env is None else {**os.environ, **env},
    )
    if proc.returncode not in (0, 1):
        pytest.fail(f"{command[:3]} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.returncode, proc.stdout.splitlines()


def _statuses(lines: list[str]) -> dict[str, str]:
    """test id -> the rest of its line (PASS, or FAIL/SKIP with the reason)."""
    out = {}
    for line in lines:
        status, _, rest = line.partition(" ")
        if status in ("PASS", "FAIL", "SKIP"):
            test_id, _, reason = rest.partition(": ")
            out[test_id] = status if not reason else f"{status}: {reason}"
    return out


def _assert_all_pass(lines: list[str], manifest_dir: Path, who: str) -> None:
    expected = set(json.loads((manifest_dir / "manifest.json").read_text())["tests"])
    statuses = _statuses(lines)
    bad = {t: s for t, s in statuses.items() if s != "PASS"}
    assert not bad, f"{who}: {len(bad)} of {len(statuses)} did not pass:\n" + "\n".join(
        f"  {t}: {s}" for t, s in sorted(bad.items())
    )
    assert set(statuses) == expected, f"{who}: ran {len(statuses)} of {len(expected)} tests"
    assert lines[-1] == f"{len(expected)} passed, 0 failed, 0 skipped", lines[-1]


@pytest.fixture(scope="module")
def encrypt_manifest(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("esdk-interop")
    (base / "keys.json").write_text(json.dumps(_keys(), indent=2))
    manifest = {
        "manifest": {"type": "awses-encrypt", "version": 2},
        "keys": "file://keys.json",
        "plaintexts": {**SIZES, **ODD_SIZES},
        "tests": _matrix(),
    }
    path = base / "encrypt-manifest.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return path


def _produced(out: Path) -> set[str]:
    return set(json.loads((out / "manifest.json").read_text())["tests"])


@pytest.fixture(scope="module")
def rust_messages(encrypt_manifest) -> Path:
    out = encrypt_manifest.parent / "rust"
    code, lines = _run([_tool(), "encrypt", "--manifest", encrypt_manifest, "--out", out])
    statuses = _statuses(lines)
    assert code == 0, "\n".join(lines)
    skipped = {t for t, s in statuses.items() if s.startswith("SKIP")}
    assert skipped == {t for t in statuses if t.endswith("-f0")}, "only non-framed tests are skipped"
    return out


@pytest.fixture(scope="module")
def python_messages(encrypt_manifest) -> Path:
    out = encrypt_manifest.parent / "python"
    results = esdk_peer_python.encrypt_manifest(encrypt_manifest, out)
    assert results.failed == 0, "\n".join(results.lines)
    statuses = _statuses(results.lines)
    skipped = {t for t, s in statuses.items() if s.startswith("SKIP")}
    assert skipped == {t for t in statuses if t.endswith(("-f1", "-f1000"))}, skipped
    return out


@pytest.fixture(scope="module")
def js_messages(encrypt_manifest) -> Path:
    out = encrypt_manifest.parent / "js"
    peer = [*_node(), HERE / "esdk_peer.mjs"]
    code, lines = _run([*peer, "encrypt", "--manifest", encrypt_manifest, "--out", out])
    assert code == 0, "\n".join(lines)
    assert {t for t, s in _statuses(lines).items() if s.startswith("SKIP")} == {
        t for t in _statuses(lines) if t.endswith("-f0")
    }
    return out


def test_the_matrix_covers_every_suite_padding_size_and_keyring(encrypt_manifest):
    tests = json.loads(encrypt_manifest.read_text())["tests"]
    assert {t["algorithm"] for t in tests.values()} == set(SUITES)
    paddings = {
        (mk.get("padding-algorithm"), mk.get("padding-hash"))
        for t in tests.values()
        for mk in t["master-keys"]
        if mk["encryption-algorithm"] == "rsa"
    }
    assert paddings == set(RSA_PADDINGS)
    for suite in FULL_SIZE_SUITES:
        assert {t["plaintext"] for t in tests.values() if t["algorithm"] == suite} >= set(SIZES)
    assert len(tests) == 136


def test_rust_decrypts_its_own_messages(rust_messages):
    code, lines = _run([_tool(), "decrypt", "--manifest", rust_messages])
    _assert_all_pass(lines, rust_messages, "esdk-vectors decrypt (ours)")
    assert code == 0


def test_python_esdk_decrypts_rust_messages(rust_messages):
    results = esdk_peer_python.decrypt_manifest(rust_messages)
    _assert_all_pass(results.lines + [results.summary], rust_messages, "Python ESDK")


def test_js_esdk_decrypts_rust_messages(rust_messages):
    code, lines = _run([*_node(), HERE / "esdk_peer.mjs", "decrypt", "--manifest", rust_messages])
    _assert_all_pass(lines, rust_messages, "JS ESDK")
    assert code == 0


def test_rust_decrypts_python_esdk_messages(python_messages):
    # Includes non-framed messages, which only the Python ESDK still writes.
    assert any(t.endswith("-f0") for t in _produced(python_messages))
    code, lines = _run([_tool(), "decrypt", "--manifest", python_messages])
    _assert_all_pass(lines, python_messages, "esdk-vectors decrypt (Python's messages)")
    assert code == 0


def test_rust_decrypts_js_esdk_messages(js_messages):
    code, lines = _run([_tool(), "decrypt", "--manifest", js_messages])
    _assert_all_pass(lines, js_messages, "esdk-vectors decrypt (JS's messages)")
    assert code == 0


def test_js_raw_aes_keyring_without_utf8_sorting_cannot_unwrap_unicode_contexts(rust_messages):
    """The trap the JS peer avoids: by default RawAesKeyringNode authenticates the context
    sorted by String.localeCompare, so exactly the AES-only unicode-context tests fail
    (multi-keyrings fall back to their RSA child)."""
    code, lines = _run(
        [*_node(), HERE / "esdk_peer.mjs", "decrypt", "--manifest", rust_messages],
        env={"ESDK_PEER_AES_UTF8_SORTING": "0"},
    )
    failed = {t for t, s in _statuses(lines).items() if s.startswith("FAIL")}
    expected = {t for t in _produced(rust_messages) if "-aes-unicode-ec-" in t}
    assert code == 1
    assert failed == expected
