"""Quote settings tests: alice connected to the emulator's demo org (Developer Edition), other
editions on an emulator of their own, and the receiver names of helper C (or their stand-in)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import yaml

from tests.quote_settings.receiver_fallback import quote_receiver  # noqa: F401 - a fixture

ORG_DIR = Path(__file__).resolve().parents[2] / "salesforce_emulator" / "orgs"
# org name -> (edition, org code, org id)
EDITION_ORGS = {
    "enterprise": ("Enterprise Edition", "E", "00D5g000000ENTR"),
    "essentials": ("Essentials Edition", "S", "00D5g000000ESSN"),
    "base": ("Base Edition", "B", "00D5g000000BASE"),
}


@pytest.fixture(autouse=True)
def _receiver(quote_receiver):  # noqa: F811 - every test here may set up the automation
    yield


@pytest.fixture(scope="session")
def edition_emulator(tmp_path_factory):
    """One emulator with three copies of the demo org in other editions."""
    data_dir = tmp_path_factory.mktemp("sf-editions")
    files = []
    for name, (edition, code, org_id) in EDITION_ORGS.items():
        # Usernames are unique across orgs, as in Salesforce.
        text = (ORG_DIR / "demo.yaml").read_text(encoding="utf-8").replace("@cothon-demo.example.com", f"@cothon-{name}.example.com")
        definition = yaml.safe_load(text)
        definition.update(name=name, org_code=code, org_id=org_id)
        definition["organization"]["OrganizationType"] = edition
        definition["organization"]["Name"] = f"Cothon {edition} Org"
        for index, app in enumerate(definition.get("connected_apps") or []):
            app["client_id"] = f"{app['client_id'][:-12]}{code}{index:011d}"
        path = data_dir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(definition), encoding="utf-8")
        files.append(path)
    process, client = _boot(data_dir, files)
    try:
        yield types.SimpleNamespace(client=client, ca_bundle=client.ca_bundle, process=process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _boot(data_dir: Path, org_files: list[Path]):
    from salesforce_emulator.client import EmulatorClient

    args = [sys.executable, "-m", "salesforce_emulator", "serve", "--port", "0", "--http-port", "0",
            "--data-dir", str(data_dir)]
    for path in org_files:
        args += ["--org-definition", str(path)]
    log = open(data_dir / "emulator.log", "a")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(args, cwd=ORG_DIR.parents[1], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError((data_dir / "emulator.log").read_text())
        runtime = data_dir / "runtime.json"
        if runtime.exists() and json.loads(runtime.read_text()).get("pid") == process.pid:
            try:
                return process, EmulatorClient.from_data_dir(data_dir)
            except Exception:  # noqa: BLE001 - not answering yet
                pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("emulator did not start within 60 s")


@pytest.fixture
def connect_edition(alice, edition_emulator):
    """connect_edition("essentials"): alice connected to that org through the real connect flow."""
    from integrations import connections as svc
    from integrations.models import Environment

    edition_emulator.client.reset()

    def connect(org: str):
        creds = edition_emulator.client.credentials(org)
        connection = svc.connection_create(
            tenant=alice.tenant, name=f"{org} org", environment=Environment.CUSTOM, login_url=creds["instance_url"],
            client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=edition_emulator.ca_bundle,
            actor=alice.admin)
        return svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)

    return connect
