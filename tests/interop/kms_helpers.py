"""Shared helpers for the interop suite: running kms-server, building clients, raw requests."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "TrentService."
READY_TIMEOUT_S = 30.0

# Two accounts for the isolation tests (the config file of the second server).
ACCOUNT_A = {"id": "111122223333", "access_key": "AKIAINTEROPACCOUNTA1", "secret": "secret-a-0123456789abcdef"}
ACCOUNT_B = {"id": "444455556666", "access_key": "AKIAINTEROPACCOUNTB2", "secret": "secret-b-0123456789abcdef"}
STOP_TIMEOUT_S = 10.0

KEY_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MATERIAL_ID_RE = re.compile(r"^[0-9a-f]{64}$")

# Keep the caller's own AWS configuration (profiles, credential files, IMDS) out of every client.
ISOLATED_AWS_ENV = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_PAGER": "",
}


def server_binary() -> Path:
    """The kms-server binary: $KMS_SERVER_BIN, else target/release/kms-server in the repo."""
    configured = os.environ.get("KMS_SERVER_BIN")
    path = Path(configured) if configured else REPO_ROOT / "target" / "release" / "kms-server"
    if not path.is_file():
        pytest.exit(
            f"kms-server binary not found at {path}; build it with "
            "`cargo build -p kms-server --release` or set KMS_SERVER_BIN",
            returncode=2,
        )
    return path


def key_arn(key_id: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(name: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:kms:{region}:{account}:{name}"


def unique_alias(prefix: str = "it") -> str:
    return f"alias/{prefix}-{uuid.uuid4().hex[:12]}"


def not_found_message(key_id: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"Key '{key_arn(key_id, region, account)}' does not exist"


# --------------------------------------------------------------------------------------------
# The server process


@dataclass
class KmsServer:
    """One kms-server process on an ephemeral loopback port."""

    binary: Path
    data_dir: Path
    config: Path | None = None
    log_path: Path | None = None
    proc: subprocess.Popen | None = None
    endpoint: str = ""
    starts: int = field(default=0)
    extra_args: list[str] = field(default_factory=list)
    # The address to listen on; a fixed port lets a peer deployment's config name it.
    listen: str = "127.0.0.1:0"
    # "https" when the server is configured with a TLS certificate and key.
    scheme: str = "http"

    def start(self) -> "KmsServer":
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        run_dir = self.data_dir.parent
        ready = run_dir / f"{self.data_dir.name}.ready"
        ready.unlink(missing_ok=True)
        log_path = self.log_path or run_dir / f"{self.data_dir.name}.log"
        self.log_path = log_path
        args = [
            str(self.binary),
            "serve",
            "--listen",
            self.listen,
            "--data",
            str(self.data_dir),
            "--ready-file",
            str(ready),
        ]
        if self.config is not None:
            args += ["--config", str(self.config)]
        args += self.extra_args
        env = {k: v for k, v in os.environ.items() if k != "KMS_ROOT_KEY"}
        env.setdefault("RUST_LOG", "info")
        with open(log_path, "ab") as log:
            log.write(f"\n=== start #{self.starts + 1}: {' '.join(args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.starts += 1
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if ready.exists():
                address = ready.read_text().strip()
                if address:
                    break
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"kms-server exited with {self.proc.returncode} before it was ready:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"kms-server was not ready within {READY_TIMEOUT_S}s:\n{self.log_tail()}")
            time.sleep(0.02)
        self.endpoint = f"{self.scheme}://{address}"
        return self

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "<no log>"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM (graceful shutdown); SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)

    def restart_after_kill(self) -> "KmsServer":
        self.kill()
        return self.start()


# --------------------------------------------------------------------------------------------
# Clients

_SESSION = None


def _session() -> boto3.session.Session:
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.session.Session()
    return _SESSION


def make_client(
    endpoint: str,
    region: str = DEFAULT_REGION,
    access_key: str = "test",
    secret_key: str = "test",
    session_token: str | None = None,
    validate: bool = False,
    fresh_session: bool = False,
):
    """A boto3 KMS client for `endpoint`. No retries (so errors are seen exactly once) and,
    unless `validate`, no client-side parameter validation (the server must do it)."""
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        parameter_validation=validate,
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
    )
    session = boto3.session.Session() if fresh_session else _session()
    client = session.client(
        "kms",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
        config=config,
    )
    calls = REQUEST_IDS.setdefault(endpoint, [])

    def remember(parsed=None, **_):
        request_id = (parsed or {}).get("ResponseMetadata", {}).get("RequestId")
        if request_id:
            calls.append(request_id)

    client.meta.events.register("after-call.kms", remember)
    return client


def service_client(
    service: str,
    endpoint: str,
    access_key: str,
    secret_key: str,
    session_token: str | None = None,
    validate: bool = True,
):
    """A boto3 client for any `service` (IAM, STS, CloudTrail, KMS) at `endpoint` in
    us-east-1, without retries."""
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=DEFAULT_REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=validate),
    )


def aws_cli_executable() -> str:
    """The AWS CLI beside this Python (the repo's .venv) or on PATH; skips the test if none."""
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return str(beside)
    found = shutil.which("aws")
    if not found:
        pytest.skip("the AWS CLI is not installed")
    return found


def policy_doc(*statements: dict) -> str:
    """A policy document (JSON text) holding `statements`."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def write_accounts_config(path: Path, accounts: tuple[dict, ...] = (ACCOUNT_A, ACCOUNT_B)) -> Path:
    """Writes a server config declaring `accounts` (each with its root credentials) to `path`."""
    path.write_text(
        "".join(
            f'[[accounts]]\nid = "{a["id"]}"\nroot_access_key_id = "{a["access_key"]}"\n'
            f'root_secret_access_key = "{a["secret"]}"\n\n'
            for a in accounts
        )
    )
    return path


# Every request id a boto3 client made here has received, by endpoint: the audit trail of
# that server must hold each exactly once.
REQUEST_IDS: dict[str, list[str]] = {}


def audit_cli(binary: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs `kms-server audit <args>` (the root key is the data directory's root.key)."""
    env = {k: v for k, v in os.environ.items() if k != "KMS_ROOT_KEY"}
    return subprocess.run(
        [str(binary), "audit", *args], capture_output=True, text=True, timeout=120, env=env
    )


def audit_events(binary: Path, data_dir: Path) -> list[dict]:
    """Every record of a stopped server's audit trail, oldest first."""
    out = audit_cli(binary, "export", "--data", str(data_dir))
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


@contextlib.contextmanager
def kms_error(
    code: str,
    message: str | None = None,
    contains: str | None = None,
    status: int = 400,
) -> Iterator[Any]:
    """Expects a ClientError with `code` (and optionally an exact message or a substring)."""
    with pytest.raises(ClientError) as info:
        yield info
    response = info.value.response
    error = response.get("Error", {})
    assert error.get("Code") == code, f"expected {code}, got {error} ({response})"
    if message is not None:
        assert error.get("Message") == message, f"message mismatch: {error.get('Message')!r} != {message!r}"
    if contains is not None:
        assert contains in (error.get("Message") or ""), f"{contains!r} not in {error.get('Message')!r}"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response["ResponseMetadata"]


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


# --------------------------------------------------------------------------------------------
# Raw HTTP


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def http_request(
    endpoint: str,
    method: str,
    path: str = "/",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> RawResponse:
    url = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return RawResponse(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=data,
        )
    finally:
        conn.close()


def signed_headers(
    endpoint: str,
    body: bytes,
    target: str | None,
    region: str = DEFAULT_REGION,
    access_key: str = "test",
    secret_key: str = "test",
    service: str = "kms",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """SigV4-signs a POST / with botocore's signer and returns the headers to send."""
    headers = {"Content-Type": CONTENT_TYPE}
    if target is not None:
        headers["X-Amz-Target"] = target
    headers.update(extra or {})
    request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(access_key, secret_key), service, region).add_auth(request)
    return dict(request.headers.items())


def signed_post(
    endpoint: str,
    target: str | None,
    body: bytes | str | dict = b"{}",
    **sign_kwargs: Any,
) -> RawResponse:
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    headers = signed_headers(endpoint, body, target, **sign_kwargs)
    return http_request(endpoint, "POST", "/", body=body, headers=headers)


def burst(endpoint: str, requests: list[tuple[str, dict]], **sign_kwargs: Any) -> list[RawResponse]:
    """Sends signed requests so that they reach the server together: each on its own
    connection, everything but the last byte first, then the last bytes back to back.
    Returns the responses in request order."""
    url = urllib.parse.urlsplit(endpoint)
    payloads = []
    for target, body in requests:
        data = json.dumps(body).encode()
        headers = signed_headers(endpoint, data, target, **sign_kwargs)
        head = [f"POST / HTTP/1.1", f"Host: {url.netloc}", f"Content-Length: {len(data)}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        payloads.append(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    sockets = []
    try:
        for payload in payloads:
            sock = socket.create_connection((url.hostname, url.port), timeout=60)
            sockets.append(sock)
            sock.sendall(payload[:-1])
        for sock, payload in zip(sockets, payloads):
            sock.sendall(payload[-1:])
        responses = []
        for sock in sockets:
            response = http.client.HTTPResponse(sock)
            response.begin()
            body = response.read()
            responses.append(
                RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
            )
        return responses
    finally:
        for sock in sockets:
            sock.close()
