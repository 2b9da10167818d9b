"""Install custom fields: against an org without any Cothon field (a private emulator whose
org definition is the sandbox's, stripped of Cothon's fields and objects)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from integrations import connections as svc
from integrations.custom_fields import CUSTOM_OBJECTS, STANDARD_OBJECT_FIELDS, install_custom_fields, install_plan
from integrations.models import Environment
from integrations.sync_settings import describe_get

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bare_emulator(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("bare-emulator")
    definition = yaml.safe_load((ROOT / "salesforce_emulator" / "orgs" / "sandbox.yaml").read_text())
    definition["name"] = "bare"
    definition["objects"] = {name: spec for name, spec in definition["objects"].items() if not name.startswith("Cothon_")}
    for spec in definition["objects"].values():
        spec["fields"] = {k: v for k, v in (spec.get("fields") or {}).items() if not k.startswith("Cothon_")}
    definition["seed"] = []
    for profile in definition.get("profiles", []):
        for name in list((profile.get("objects") or {})):
            if name.startswith("Cothon_"):
                del profile["objects"][name]
    org_file = data_dir / "bare.yaml"
    org_file.write_text(yaml.safe_dump(definition))
    process = subprocess.Popen([sys.executable, "-m", "salesforce_emulator", "serve", "--port", "0", "--http-port", "0",
                                "--data-dir", str(data_dir), "--org-definition", str(org_file)],
                               cwd=ROOT, stdout=open(data_dir / "log", "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while not (data_dir / "runtime.json").exists():
        assert process.poll() is None and time.time() < deadline, (data_dir / "log").read_text()
        time.sleep(0.1)
    time.sleep(0.3)
    creds = json.loads(subprocess.run([sys.executable, "-m", "salesforce_emulator", "credentials", "--data-dir", str(data_dir),
                                       "--org", "bare"], cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    yield creds
    process.terminate()
    process.wait(timeout=10)


def test_install_creates_every_missing_object_and_field_and_they_are_usable(alice, bare_emulator):
    creds = bare_emulator
    connection = svc.connection_create(tenant=alice.tenant, name="Bare org", environment=Environment.CUSTOM,
                                       login_url=creds["instance_url"], client_id=creds["client_id"],
                                       client_secret=creds["client_secret"], ca_bundle_path=creds["ca_bundle"])
    connection = svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)
    plan = install_plan(connection=connection)
    assert {o.name for o in plan.missing_objects} == {"Cothon_Analysis__c", "Cothon_Requirement__c"}
    expected = len(STANDARD_OBJECT_FIELDS) + sum(len(o.fields) for o in CUSTOM_OBJECTS)
    assert len(plan.missing_fields) == expected
    assert any("Opportunity.Cothon_Ref__c — Cothon Reference (Text, 50, External ID, Unique)" == f.describe_line() for f in plan.missing_fields)

    result = install_custom_fields(connection=connection)
    assert result.failed == [], result.failed
    assert len(result.created) == expected + 2
    assert install_plan(connection=connection).complete
    fields = {f["name"]: f for f in describe_get(connection=connection, sobject="Opportunity")["fields"]}
    assert fields["Cothon_Ref__c"]["externalId"] and fields["Cothon_Ref__c"]["unique"] and fields["Cothon_Ref__c"]["length"] == 50
    # Usable at once: an upsert by the new external id.
    client = svc.client_for(connection)
    client.rest("PATCH", "sobjects/Opportunity/Cothon_Ref__c/INSTALL-1",
                json={"Name": "Installed", "StageName": "Prospecting", "CloseDate": "2030-01-01", "Cothon_Method__c": "RFP"})
    assert client.query("SELECT Cothon_Method__c FROM Opportunity WHERE Cothon_Ref__c = 'INSTALL-1'")["records"][0]["Cothon_Method__c"] == "RFP"
    # A second install has nothing to do.
    again = install_custom_fields(connection=connection)
    assert again.created == [] and again.failed == []
