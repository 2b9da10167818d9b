"""Pytest fixtures: ONE emulator subprocess per test session, and a per-test reset.

Register with ``pytest_plugins = ["tests.emulator_process"]`` in the root conftest.
``emulator`` yields an `EmulatorHandle` (URLs, CA bundle, demo and sandbox credentials,
hook client); ``emulator_reset`` resets every org to its seeded state first.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from salesforce_emulator.client import EmulatorClient

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class EmulatorHandle:
    def __init__(self, data_dir: Path, process: subprocess.Popen, client: EmulatorClient):
        self.data_dir = data_dir
        self.process = process
        self.client = client
        self.instance_url = client.instance_url
        self.http_url = client.http_url
        self.ca_bundle = client.ca_bundle
        self.admin_key = client.admin_key
        self.demo = client.credentials("demo")
        self.sandbox = client.credentials("sandbox")

    def creds(self, org: str = "demo") -> dict[str, Any]:
        return self.demo if org == "demo" else self.sandbox

    def http_session(self) -> requests.Session:
        """A session that trusts the emulator's CA. trust_env is off because an exported
        REQUESTS_CA_BUNDLE would otherwise override session.verify (a requests quirk)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_bundle
        return session

    def session(self, org: str = "demo", token: str | None = None) -> requests.Session:
        session = self.http_session()
        session.headers["Authorization"] = f"Bearer {token or self.creds(org)['access_token']}"
        return session

    def token(self, org: str = "demo", username: str | None = None) -> str:
        return self.client.mint_token(org, username)["access_token"]

    def api(self, version: str = "59.0") -> str:
        return f"{self.instance_url}/services/data/v{version}"

    def sf(self, org: str = "demo", token: str | None = None, version: str = "59.0"):
        """simple-salesforce in direct mode, as the product drives it."""
        from simple_salesforce import Salesforce
        return Salesforce(instance_url=self.instance_url,
                          session_id=token or self.creds(org)["access_token"],
                          session=self.http_session(), version=version)


def _start(data_dir: Path) -> tuple[subprocess.Popen, EmulatorClient]:
    log = open(data_dir / "emulator.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "salesforce_emulator", "serve", "--port", "0", "--http-port", "0",
         "--data-dir", str(data_dir)],
        cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    runtime = data_dir / "runtime.json"
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited: {(data_dir / 'emulator.log').read_text()}")
        if runtime.exists():
            info = json.loads(runtime.read_text())
            if info.get("pid") == process.pid:
                try:
                    return process, EmulatorClient.from_data_dir(data_dir)
                except Exception:  # noqa: BLE001 - not answering yet
                    pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("emulator did not start within 30 s")


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("sf-emulator")
    process, client = _start(data_dir)
    try:
        yield EmulatorHandle(data_dir, process, client)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def emulator_reset(emulator: EmulatorHandle) -> EmulatorHandle:
    """The emulator with every org back to its seeded state (also clock, faults, limits)."""
    emulator.client.reset()
    return emulator


def emulator_env(handle: EmulatorHandle) -> dict[str, str]:
    """Environment for child processes (node/jsforce/sf) that must trust the emulator."""
    env = dict(os.environ)
    env["NODE_EXTRA_CA_CERTS"] = handle.ca_bundle
    return env
