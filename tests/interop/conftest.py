"""Fixtures: a real kms-server on an ephemeral port, boto3 clients, and an AWS CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from kms_helpers import (
    DEFAULT_REGION,
    ISOLATED_AWS_ENV,
    REQUEST_IDS,
    KmsServer,
    audit_cli,
    audit_events,
    aws_cli_executable,
    make_client,
    server_binary,
    write_accounts_config,
)

CLI_TIMEOUT_S = 60


@pytest.fixture(scope="session", autouse=True)
def _isolated_aws_environment():
    """No profile, credential file or metadata service of the machine may leak into clients."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                mp.delenv(name)
        for name, value in ISOLATED_AWS_ENV.items():
            mp.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def server_bin() -> Path:
    return server_binary()


def _start(server_bin: Path, base: Path, config: Path | None = None) -> KmsServer:
    return KmsServer(binary=server_bin, data_dir=base / "data", config=config).start()


@pytest.fixture(scope="session")
def server(server_bin, tmp_path_factory):
    """The shared server (default account 000000000000, access key test/test)."""
    srv = _start(server_bin, tmp_path_factory.mktemp("server"))
    yield srv
    code = srv.stop()
    assert code == 0, f"kms-server did not shut down gracefully on SIGTERM (exit {code}):\n{srv.log_tail()}"
    _check_audit_trail(server_bin, srv)


def _check_audit_trail(server_bin: Path, srv: KmsServer) -> None:
    """Every call the whole suite made to the shared server is in its trail exactly once,
    and the trail verifies."""
    verified = audit_cli(server_bin, "verify", "--data", str(srv.data_dir))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    events = audit_events(server_bin, srv.data_dir)
    in_trail = Counter(e["requestID"] for e in events)
    duplicated = [r for r, n in in_trail.items() if n != 1]
    assert not duplicated, f"request ids recorded more than once: {duplicated[:5]}"
    seen = REQUEST_IDS.get(srv.endpoint, [])
    missing = [r for r in seen if r not in in_trail]
    assert seen and not missing, f"{len(missing)} of {len(seen)} calls are missing from the audit trail"


@pytest.fixture(scope="session")
def endpoint(server) -> str:
    return server.endpoint


@pytest.fixture(scope="session")
def client_factory(endpoint) -> Callable[..., Any]:
    """client_factory(region=..., access_key=..., secret_key=..., session_token=..., endpoint=...)."""

    def factory(endpoint_url: str | None = None, **kwargs):
        return make_client(endpoint_url or endpoint, **kwargs)

    return factory


@pytest.fixture(scope="session")
def kms(client_factory):
    """A client for the default account in us-east-1."""
    return client_factory()


@pytest.fixture
def key_id(kms) -> str:
    """A fresh enabled symmetric key in us-east-1."""
    return kms.create_key(Description="interop test key")["KeyMetadata"]["KeyId"]


@pytest.fixture
def other_key_id(kms) -> str:
    return kms.create_key(Description="interop second key")["KeyMetadata"]["KeyId"]


@pytest.fixture(scope="session")
def two_account_server(server_bin, tmp_path_factory):
    """A second server configured with two accounts."""
    base = tmp_path_factory.mktemp("two-accounts")
    config = write_accounts_config(base / "accounts.toml")
    srv = _start(server_bin, base, config=config)
    yield srv
    assert srv.stop() == 0, srv.log_tail()


# --------------------------------------------------------------------------------------------
# AWS CLI


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    data: Any

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@pytest.fixture(scope="session")
def aws(endpoint) -> Callable[..., CliResult]:
    """aws(*args) runs `aws kms <args> --endpoint-url <server> --output json`.

    Keyword options: region, access_key, secret_key, endpoint_url, check (default True: a
    non-zero exit fails the test). Returns CliResult with parsed JSON output in `data`."""
    executable = aws_cli_executable()

    def run(
        *args: str,
        region: str = DEFAULT_REGION,
        access_key: str = "test",
        secret_key: str = "test",
        endpoint_url: str | None = None,
        check: bool = True,
    ) -> CliResult:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(ISOLATED_AWS_ENV)
        env.update(
            {
                "AWS_ACCESS_KEY_ID": access_key,
                "AWS_SECRET_ACCESS_KEY": secret_key,
                "AWS_DEFAULT_REGION": region,
                "AWS_RETRY_MODE": "standard",
                "AWS_MAX_ATTEMPTS": "1",
            }
        )
        command = [
            executable,
            "kms",
            *args,
            "--endpoint-url",
            endpoint_url or endpoint,
            "--output",
            "json",
        ]
        proc = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False
        )
        data = None
        if proc.returncode == 0 and proc.stdout.strip():
            data = json.loads(proc.stdout)
        result = CliResult(proc.returncode, proc.stdout, proc.stderr, data)
        if check and not result.ok:
            pytest.fail(f"`aws kms {' '.join(args)}` exited {proc.returncode}:\n{proc.stderr}")
        return result

    return run
