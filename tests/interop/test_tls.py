"""HTTPS: kms-server with a TLS certificate (a test CA and a leaf made here with
`cryptography`), boto3 trusting that CA, the audit trail's `tlsDetails`, clients that speak
plain HTTP or do not trust the certificate, and the ways the key and config can be given."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import socket
import subprocess
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, SSLError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kms_helpers import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    ISOLATED_AWS_ENV,
    KmsServer,
    audit_cli,
    audit_events,
    aws_cli_executable,
)

ROOT_CONFIG = f'[[accounts]]\nid = "{DEFAULT_ACCOUNT}"\nroot_access_key_id = "test"\nroot_secret_access_key = "test"\n'


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_pki(directory: Path, leaf_key=None) -> dict[str, Path]:
    """A CA and a leaf for localhost / 127.0.0.1 signed by it. Writes ca.pem, chain.pem (leaf,
    then CA) and key.pem (the leaf's key as PKCS#8, unless `leaf_key` is a (key, format))."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("kms-server test CA"))
        .issuer_name(_name("kms-server test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key, key_format = leaf_key or (ec.generate_private_key(ec.SECP256R1()), serialization.PrivateFormat.PKCS8)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": directory / "ca.pem", "chain": directory / "chain.pem", "key": directory / "key.pem"}
    files["ca"].write_bytes(_pem(ca))
    files["chain"].write_bytes(_pem(leaf) + _pem(ca))
    files["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, key_format, serialization.NoEncryption())
    )
    return files


def tls_client(endpoint: str, verify, service: str = "kms"):
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=DEFAULT_REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        verify=verify,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=10, read_timeout=30),
    )


@pytest.fixture
def pki(tmp_path) -> dict[str, Path]:
    return make_pki(tmp_path)


@pytest.fixture
def tls_server(server_bin, tmp_path, pki):
    """A server whose config file names its certificate and key by relative paths."""
    config = tmp_path / "server.toml"
    config.write_text(f'tls_cert_file = "{pki["chain"].name}"\ntls_key_file = "{pki["key"].name}"\n{ROOT_CONFIG}')
    srv = KmsServer(binary=server_bin, data_dir=tmp_path / "data", config=config, scheme="https").start()
    yield srv
    srv.stop()


def test_boto3_over_tls_creates_encrypts_and_decrypts_with_tls_details_in_the_trail(
    server_bin, tls_server, pki
):
    assert tls_server.endpoint.startswith("https://127.0.0.1:")
    kms = tls_client(tls_server.endpoint, verify=str(pki["ca"]))
    key_id = kms.create_key(Description="over TLS")["KeyMetadata"]["KeyId"]
    encrypted = kms.encrypt(KeyId=key_id, Plaintext=b"sent over TLS", EncryptionContext={"via": "tls"})
    decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], EncryptionContext={"via": "tls"})
    assert decrypted["Plaintext"] == b"sent over TLS"
    caller = tls_client(tls_server.endpoint, verify=str(pki["ca"]), service="sts").get_caller_identity()
    assert caller["Account"] == DEFAULT_ACCOUNT

    assert tls_server.stop() == 0, tls_server.log_tail()
    verified = audit_cli(server_bin, "verify", "--data", str(tls_server.data_dir))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    events = {e["requestID"]: e for e in audit_events(server_bin, tls_server.data_dir)}
    encrypt = events[encrypted["ResponseMetadata"]["RequestId"]]
    assert encrypt["eventName"] == "Encrypt"
    details = encrypt["tlsDetails"]
    assert details["tlsVersion"] == "TLSv1.3"
    assert details["cipherSuite"] in {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"}
    assert details["clientProvidedHostHeader"] == tls_server.endpoint.removeprefix("https://")
    identity = events[caller["ResponseMetadata"]["RequestId"]]
    assert identity["eventSource"] == "sts.amazonaws.com"
    assert identity["tlsDetails"]["tlsVersion"] == "TLSv1.3"


def test_plain_http_to_the_tls_port_fails_cleanly_and_the_server_keeps_serving(tls_server, pki):
    plain = tls_client(tls_server.endpoint.replace("https://", "http://"), verify=False)
    with pytest.raises(BotoCoreError):
        plain.list_keys()
    host, port = tls_server.endpoint.removeprefix("https://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01\x00\x04garbage that is no ClientHello")
        raw.recv(1024)  # the server's alert, or end of stream: either way it answers
    kms = tls_client(tls_server.endpoint, verify=str(pki["ca"]))
    assert "Keys" in kms.list_keys()
    assert tls_server.running()


def test_aws_cli_with_ca_bundle_over_tls(tls_server, pki):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ISOLATED_AWS_ENV)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": DEFAULT_REGION})
    base = [aws_cli_executable(), "kms", "--endpoint-url", tls_server.endpoint, "--output", "json"]
    created = subprocess.run(
        [*base, "create-key", "--ca-bundle", str(pki["ca"])], env=env, capture_output=True, text=True, timeout=60
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["KeyMetadata"]["KeyState"] == "Enabled"
    untrusted = subprocess.run([*base, "list-keys"], env=env, capture_output=True, text=True, timeout=60)
    assert untrusted.returncode != 0
    assert "SSL" in untrusted.stderr or "certificate" in untrusted.stderr, untrusted.stderr


def test_a_client_that_does_not_trust_the_certificate_refuses_it(tls_server, tmp_path):
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other_ca = make_pki(other_dir)["ca"]
    untrusting = tls_client(tls_server.endpoint, verify=str(other_ca))
    with pytest.raises(SSLError):
        untrusting.list_keys()


@pytest.mark.parametrize(
    "kind",
    ["rsa-pkcs1", "ec-sec1"],
)
def test_rsa_pkcs1_and_ec_sec1_keys_given_on_the_command_line(server_bin, tmp_path, kind):
    if kind == "rsa-pkcs1":
        leaf = (rsa.generate_private_key(public_exponent=65537, key_size=2048), serialization.PrivateFormat.TraditionalOpenSSL)
    else:
        leaf = (ec.generate_private_key(ec.SECP384R1()), serialization.PrivateFormat.TraditionalOpenSSL)
    pki = make_pki(tmp_path, leaf_key=leaf)
    header = pki["key"].read_text().splitlines()[0]
    assert header == ("-----BEGIN RSA PRIVATE KEY-----" if kind == "rsa-pkcs1" else "-----BEGIN EC PRIVATE KEY-----")
    srv = KmsServer(
        binary=server_bin,
        data_dir=tmp_path / "data",
        scheme="https",
        extra_args=["--tls-cert-file", str(pki["chain"]), "--tls-key-file", str(pki["key"])],
    ).start()
    try:
        kms = tls_client(srv.endpoint, verify=str(pki["ca"]))
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    finally:
        assert srv.stop() == 0, srv.log_tail()


@pytest.mark.parametrize(
    "tls_lines, message",
    [
        ('tls_cert_file = "chain.pem"\n', "HTTPS needs both"),
        ('tls_key_file = "key.pem"\n', "HTTPS needs both"),
        ('tls_cert_file = "missing.pem"\ntls_key_file = "key.pem"\n', "missing.pem"),
        ('tls_cert_file = "key.pem"\ntls_key_file = "key.pem"\n', "no usable PEM certificate"),
        ('tls_cert_file = "chain.pem"\ntls_key_file = "other.pem"\n', "cannot be used together"),
    ],
)
def test_bad_tls_configuration_stops_startup_with_a_clear_error(server_bin, tmp_path, pki, tls_lines, message):
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    (tmp_path / "other.pem").write_bytes(make_pki(other_dir)["key"].read_bytes())
    config = tmp_path / "server.toml"
    config.write_text(tls_lines + ROOT_CONFIG)
    srv = KmsServer(binary=server_bin, data_dir=tmp_path / "data", config=config, scheme="https")
    with pytest.raises(RuntimeError) as failed:
        srv.start()
    assert "before it was ready" in str(failed.value)
    assert message in str(failed.value), str(failed.value)
