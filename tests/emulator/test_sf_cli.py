"""The `sf` CLI (npm @salesforce/cli, run by Node 22 from npm) against the emulator, unchanged.

The CLI gets the emulator's CA through NODE_EXTRA_CA_CERTS, an isolated HOME (its auth files and
key never touch the user's), SF_USE_GENERIC_UNIX_KEYCHAIN, and no telemetry or auto-update. It
logs in with `sf org login access-token` and every command runs with `--json`; the Python side
checks the effects over REST.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.conftest_clients import (  # noqa: F401  (fixtures)
    CLIENTS_DIR,
    client_env,
    client_tools,
    emu_org,
    fresh_demo_org,
    rest,
)

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(300), pytest.mark.usefixtures("fresh_demo_org")]

ALIAS = "emu"


class SfResult:
    def __init__(self, args: list[str], proc: subprocess.CompletedProcess):
        self.args = args
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        try:
            self.json: dict[str, Any] = json.loads(proc.stdout)
        except json.JSONDecodeError:
            self.json = {}

    @property
    def result(self) -> Any:
        assert self.returncode == 0 and self.json.get("status") == 0, self.describe()
        return self.json["result"]

    def describe(self) -> str:
        return (f"sf {' '.join(self.args)} → rc={self.returncode}\nstdout:\n{self.stdout[-4000:]}"
                f"\nstderr:\n{self.stderr[-2000:]}")


@pytest.fixture(scope="module")
def sf(client_tools, emu_org, tmp_path_factory):
    """sf(*args, env=None, timeout=...) → SfResult; runs with --json in an isolated HOME."""
    home = tmp_path_factory.mktemp("sf-home")
    (home / ".config").mkdir()
    workdir = tmp_path_factory.mktemp("sf-work")

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> SfResult:
        argv = [*args, "--json"]
        proc_env = client_env(client_tools, emu_org, home, **(env or {}))
        proc = subprocess.run(
            [client_tools.node22, str(CLIENTS_DIR / "node_modules" / "@salesforce" / "cli" / "bin" / "run.js"), *argv],
            capture_output=True, text=True, env=proc_env, cwd=workdir, timeout=timeout,
        )
        return SfResult(argv, proc)

    run.workdir = workdir  # type: ignore[attr-defined]
    return run


@pytest.fixture(scope="module")
def logged_in(sf, emu_org):
    """sf org login access-token --instance-url <https> --no-prompt, token in SF_ACCESS_TOKEN."""
    out = sf("org", "login", "access-token", "--instance-url", emu_org.instance_url, "--no-prompt",
             "--alias", ALIAS, env={"SF_ACCESS_TOKEN": emu_org.access_token})
    return out


def test_org_login_access_token(logged_in, emu_org):
    result = logged_in.result
    assert result["username"] == emu_org.username
    assert result["orgId"][:15] == emu_org.org_id[:15]
    assert result["instanceUrl"].rstrip("/") == emu_org.instance_url


def test_org_display(sf, logged_in):
    logged_in.result
    result = sf("org", "display", "--target-org", ALIAS).result
    assert result["alias"] == ALIAS
    assert result["connectedStatus"] == "Connected", result
    # the CLI records the org's highest API version (GET /services/data) when it logs in
    assert result.get("apiVersion") is None or re.fullmatch(r"\d{2}\.0", result["apiVersion"]), result


def test_org_list_has_organization_fields(sf, logged_in, emu_org):
    """At login the CLI queries Organization (errors there are swallowed, so check its effect):
    name, instanceName and orgEdition land in the auth file; the ScratchOrgInfo probe must fail
    (the emulator's org is not a Dev Hub)."""
    logged_in.result
    result = sf("org", "list").result
    orgs = [o for o in result["nonScratchOrgs"] if o["username"] == emu_org.username]
    assert len(orgs) == 1, result
    org = orgs[0]
    assert org.get("orgEdition") == "Developer Edition", org
    assert org.get("name") == "Cothon Demo Org", org
    assert org.get("instanceName") == "EMU1", org
    assert org.get("isDevHub") is False, org
    assert org.get("connectedStatus") == "Connected", org


def test_data_query(sf, logged_in, rest):
    logged_in.result
    soql = "SELECT Id, Name FROM Account ORDER BY Name LIMIT 5"
    result = sf("data", "query", "--query", soql, "--target-org", ALIAS).result
    expected = rest.query(soql)
    assert result["totalSize"] == expected["totalSize"] > 0
    assert [r["Id"] for r in result["records"]] == [r["Id"] for r in expected["records"]]
    assert all(r["attributes"]["type"] == "Account" for r in result["records"])


def test_data_create_record(sf, logged_in, rest):
    logged_in.result
    name = f"Acme CLI {uuid.uuid4().hex[:10]}"
    result = sf("data", "create", "record", "--sobject", "Account", "--values", f"Name='{name}' Industry=Government",
                "--target-org", ALIAS).result
    assert result["success"] is True, result
    record_id = result["id"]
    try:
        resp = rest.record("Account", record_id)
        assert resp.status_code == 200, resp.text
        assert resp.json()["Name"] == name and resp.json()["Industry"] == "Government"
    finally:
        rest.delete_ids([record_id])


def test_sobject_describe(sf, logged_in):
    logged_in.result
    result = sf("sobject", "describe", "--sobject", "Account", "--target-org", ALIAS).result
    assert result["name"] == "Account"
    fields = {f["name"]: f for f in result["fields"]}
    assert fields["Name"]["type"] == "string"
    assert fields["Cothon_Department_Key__c"]["externalId"] is True


def test_sobject_list(sf, logged_in):
    logged_in.result
    result = sf("sobject", "list", "--sobject", "all", "--target-org", ALIAS).result
    assert {"Account", "Opportunity", "Cothon_Analysis__c"} <= set(result)


BULK_ROWS = 500


@pytest.fixture(scope="module")
def bulk_imported(sf, logged_in, rest):
    logged_in.result
    prefix = f"SFCLI-BULK-{uuid.uuid4().hex[:8]}-"
    path = Path(sf.workdir) / "accounts.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["Name", "Industry"])
        for i in range(BULK_ROWS):
            writer.writerow([f"{prefix}{i:04d}", "Government"])
    out = sf("data", "import", "bulk", "--sobject", "Account", "--file", str(path), "--wait", "5",
             "--target-org", ALIAS)
    yield prefix, out
    rest.delete_where(f"SELECT Id FROM Account WHERE Name LIKE '{prefix}%'")


def test_data_import_bulk(bulk_imported, rest):
    prefix, out = bulk_imported
    result = out.result
    assert result["processedRecords"] == BULK_ROWS, result
    assert result["successfulRecords"] == BULK_ROWS and result["failedRecords"] == 0, result
    assert re.fullmatch(r"750\w{15}", result["jobId"]), result["jobId"]
    assert rest.count(f"SELECT Id FROM Account WHERE Name LIKE '{prefix}%'") == BULK_ROWS


def test_data_export_bulk(sf, bulk_imported, rest):
    prefix, imported = bulk_imported
    imported.result
    out_file = Path(sf.workdir) / "export.csv"
    result = sf("data", "export", "bulk", "--query", f"SELECT Id, Name FROM Account WHERE Name LIKE '{prefix}%'",
                "--output-file", str(out_file), "--result-format", "csv", "--wait", "5",
                "--target-org", ALIAS).result
    assert result["totalSize"] == BULK_ROWS, result
    with out_file.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == BULK_ROWS
    assert set(rows[0]) == {"Id", "Name"}
    assert {r["Id"] for r in rows} == set(rest.ids(f"SELECT Id FROM Account WHERE Name LIKE '{prefix}%'"))


def test_data_export_bulk_json(sf, bulk_imported):
    prefix, imported = bulk_imported
    imported.result
    out_file = Path(sf.workdir) / "export.json"
    result = sf("data", "export", "bulk", "--query", f"SELECT Id, Name FROM Account WHERE Name LIKE '{prefix}%'",
                "--output-file", str(out_file), "--result-format", "json", "--wait", "5",
                "--target-org", ALIAS).result
    assert result["totalSize"] == BULK_ROWS
    records = json.loads(out_file.read_text(encoding="utf-8"))
    assert len(records) == BULK_ROWS and records[0]["Name"].startswith(prefix)
