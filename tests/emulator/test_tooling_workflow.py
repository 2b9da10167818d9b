"""Tooling API workflow: WorkflowOutboundMessage + WorkflowRule created the way a client would
(simple-salesforce ``restful``) turn into outbound messages delivered on record edits;
duplicates and bad metadata are refused in Salesforce's format; deactivating or deleting stops
delivery; a restart keeps the rules; editions without workflow refuse."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from salesforce_emulator import ids
from salesforce_emulator.client import EmulatorClient
from salesforce_emulator.orgdef import ORG_DIR
from tests.emulator.test_outbound import NS, Receiver, _notifications
from tests.emulator_process import PROJECT_ROOT

pytestmark = pytest.mark.emulator

MESSAGE = "tooling/sobjects/WorkflowOutboundMessage"
RULE = "tooling/sobjects/WorkflowRule"


@pytest.fixture
def receiver():
    made = []

    def make(script=None):
        rec = Receiver(script)
        made.append(rec)
        return rec

    yield make
    for rec in made:
        rec.close()


def _admin_sf(handle, org="demo"):
    return handle.sf(org, token=handle.token(org, handle.creds(org)["admin"]["username"]))


def _message_body(url, name="Cothon_Sync", obj="Opportunity", **meta):
    return {"FullName": f"{obj}.{name}", "Metadata": {
        "name": name.replace("_", " "), "endpointUrl": url,
        "fields": ["Name", "StageName", "Amount", "Cothon_Ref__c"], "includeSessionId": False,
        "protected": False, "useDeadLetterQueue": False, "apiVersion": 59.0,
        "description": "Tells Cothon about opportunity changes", **meta}}


def _rule_body(action="Cothon_Sync", name="Cothon Sync", obj="Opportunity", **meta):
    body = {"actions": [{"name": action, "type": "OutboundMessage"}], "active": True,
            "triggerType": "onCreateOrTriggeringUpdate",
            "criteriaItems": [{"field": f"{obj}.StageName", "operation": "equals",
                               "value": "Proposal"}]}
    body.update(meta)
    return {"FullName": f"{obj}.{name}", "Metadata": body}


def _create(sf, path, body):
    result = sf.restful(path, method="POST", json=body)
    assert result["success"] is True and result["errors"] == []
    return result["id"]


def _refused(sf, path, body, method="POST"):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful(path, method=method, json=body)
    return info.value.content[0]


def _names(rec):
    return [item.find("o:sObject/sf:Name", NS).text
            for body in list(rec.bodies) for item in _notifications(body)[2]]


def _settle(rec, count, timeout=15):
    """The record names notified so far, once `count` have come (or `timeout` passed) and
    anything else that was on its way has arrived."""
    deadline = time.time() + timeout
    while time.time() < deadline and len(_names(rec)) < count:
        time.sleep(0.05)
    time.sleep(0.5)
    return _names(rec)


def test_message_and_rule_deliver_a_notification_on_edit(emulator_reset, receiver):
    handle = emulator_reset
    rec = receiver()
    admin = _admin_sf(handle)
    message_id = _create(admin, MESSAGE, _message_body(rec.url, includeSessionId=True))
    rule_id = _create(admin, RULE, _rule_body())
    assert message_id.startswith("04k") and rule_id.startswith("01Q")
    sf = handle.sf()  # the product's integration user edits records
    at_stage = sf.Opportunity.create({"Name": "Born at stage", "StageName": "Proposal",
                                      "CloseDate": "2030-01-01"})
    moving = sf.Opportunity.create({"Name": "Moves", "StageName": "Prospecting",
                                    "CloseDate": "2030-01-01", "Amount": 900,
                                    "Cothon_Ref__c": "WF-1"})
    sf.Opportunity.update(moving["id"], {"StageName": "Proposal"})
    sf.Opportunity.update(moving["id"], {"Amount": 950})  # still meets: no new message
    assert sorted(_settle(rec, 2)) == ["Born at stage", "Moves"]
    by_name = {}
    for body in rec.bodies:
        _root, notes, items = _notifications(body)
        assert notes.find("o:ActionId", NS).text == message_id  # the message's id, as in SF
        by_name[items[0].find("o:sObject/sf:Name", NS).text] = (notes, items[0])
    notes, item = by_name["Moves"]
    sobject = item.find("o:sObject", NS)
    values = {child.tag.split("}")[1]: child.text for child in sobject}
    assert list(values) == ["Id", "Name", "StageName", "Amount", "Cothon_Ref__c"]
    assert values["Id"] == moving["id"] and values["Cothon_Ref__c"] == "WF-1"
    assert by_name["Born at stage"][1].find("o:sObject/sf:Id", NS).text == at_stage["id"]
    session_id = notes.find("o:SessionId", NS).text
    assert session_id  # includeSessionId: a working session of the integration user
    assert handle.session(token=session_id).get(f"{handle.api()}/limits").status_code == 200
    # what the Tooling API reads back
    got = admin.restful(f"{MESSAGE}/{message_id}")
    assert got["FullName"] == "Opportunity.Cothon_Sync" and got["Name"] == "Cothon_Sync"
    assert got["Metadata"]["endpointUrl"] == rec.url
    assert got["Metadata"]["fields"] == ["Id", "Name", "StageName", "Amount", "Cothon_Ref__c"]
    assert got["Metadata"]["integrationUser"] == handle.demo["admin"]["username"]
    assert got["IntegrationUserId"] == handle.demo["admin"]["id"]
    assert got["EntityDefinitionId"] == "Opportunity" and got["ApiVersion"] == 59.0
    rule = admin.restful(f"{RULE}/{rule_id}")
    assert rule["TableEnumOrId"] == "Opportunity" and rule["Name"] == "Cothon Sync"
    assert rule["Metadata"]["triggerType"] == "onCreateOrTriggeringUpdate"
    assert rule["Metadata"]["criteriaItems"] == [
        {"field": "Opportunity.StageName", "operation": "equals", "value": "Proposal"}]
    with pytest.raises(SalesforceMalformedRequest) as info:  # not a Tooling field
        admin.toolingexecute("query/?q=SELECT+Id,EndpointUrl+FROM+WorkflowOutboundMessage")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    rows = admin.toolingexecute(
        "query/?q=SELECT+Id,Name,FullName,Metadata,ApiVersion,IntegrationUserId+FROM+"
        "WorkflowOutboundMessage+WHERE+Name='Cothon_Sync'+AND+EntityDefinitionId='Opportunity'")
    assert rows["totalSize"] == 1 and rows["records"][0]["Id"] == message_id
    assert rows["records"][0]["Metadata"]["endpointUrl"] == rec.url
    with pytest.raises(SalesforceMalformedRequest) as info:  # not filterable on a real org
        admin.toolingexecute("query/?q=SELECT+Id+FROM+WorkflowOutboundMessage+WHERE+"
                             "FullName='Opportunity.Cothon_Sync'")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    rules = admin.toolingexecute("query/?q=SELECT+Id,Name,TableEnumOrId+FROM+WorkflowRule+"
                                 "WHERE+TableEnumOrId='Opportunity'")
    assert [r["Id"] for r in rules["records"]] == [rule_id]
    # the other org has none of it
    sandbox = _admin_sf(handle, "sandbox")
    assert sandbox.toolingexecute("query/?q=SELECT+Id+FROM+WorkflowRule")["totalSize"] == 0


def test_trigger_types_formula_and_filters(emulator_reset, receiver):
    handle = emulator_reset
    admin = _admin_sf(handle)
    created_only, every_edit = receiver(), receiver()
    _create(admin, MESSAGE, _message_body(created_only.url, name="On_Create"))
    _create(admin, MESSAGE, _message_body(every_edit.url, name="On_Edit"))
    _create(admin, RULE, {"FullName": "Opportunity.Any new opportunity", "Metadata": {
        "actions": [{"name": "On_Create", "type": "OutboundMessage"}], "active": True,
        "formula": "true", "triggerType": "onCreateOnly"}})
    _create(admin, RULE, _rule_body(
        action="On_Edit", name="Big or won", triggerType="onAllChanges",
        booleanFilter="1 AND (2 OR 3)",
        criteriaItems=[
            {"field": "Opportunity.Cothon_Ref__c", "operation": "startsWith", "value": "CT-"},
            {"field": "Opportunity.Amount", "operation": "greaterOrEqual", "value": "1000"},
            {"field": "Opportunity.StageName", "operation": "equals",
             "value": "Closed Won,Negotiation/Review"}]))
    sf = handle.sf()
    small = sf.Opportunity.create({"Name": "Small", "StageName": "Prospecting",
                                   "CloseDate": "2030-01-01", "Amount": 10,
                                   "Cothon_Ref__c": "CT-1"})
    sf.Opportunity.update(small["id"], {"Amount": 20})  # neither big nor at stage
    sf.Opportunity.update(small["id"], {"StageName": "Negotiation/Review"})  # fires
    sf.Opportunity.update(small["id"], {"Amount": 30})  # still meets: every edit fires
    other = sf.Opportunity.create({"Name": "Foreign", "StageName": "Prospecting",
                                   "CloseDate": "2030-01-01", "Amount": 5000,
                                   "Cothon_Ref__c": "XX-1"})
    sf.Opportunity.update(other["id"], {"Amount": 6000})  # ref does not start with CT-
    assert sorted(_settle(created_only, 2)) == ["Foreign", "Small"]  # creates only
    assert _settle(every_edit, 2) == ["Small", "Small"]


def test_duplicates_and_bad_metadata_refused(emulator_reset, receiver):
    handle = emulator_reset
    rec = receiver()
    admin = _admin_sf(handle)
    message_id = _create(admin, MESSAGE, _message_body(rec.url))
    duplicate = _refused(admin, MESSAGE, _message_body(rec.url))
    assert duplicate["errorCode"] == "DUPLICATE_VALUE" and message_id in duplicate["message"]
    bad_field = _refused(admin, MESSAGE, _message_body(rec.url, name="Other",
                                                       fields=["Name", "No_Such__c"]))
    assert bad_field["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert "No_Such__c" in bad_field["message"]
    unknown_object = _refused(admin, MESSAGE, _message_body(rec.url, obj="Nope__c"))
    assert unknown_object["errorCode"] == "INVALID_TYPE"
    for url in ("ftp://127.0.0.1/x", "not a url", ""):
        refused = _refused(admin, MESSAGE, _message_body(url, name="Bad_Url"))
        assert refused["errorCode"] == "FIELD_INTEGRITY_EXCEPTION", url
    bad_name = _refused(admin, MESSAGE, _message_body(rec.url, name="two__underscores"))
    assert bad_name["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    no_user = _refused(admin, MESSAGE, _message_body(rec.url, name="No_User",
                                                     integrationUser="nobody@example.com"))
    assert "integrationUser" in no_user["fields"]
    assert _refused(admin, MESSAGE, {"FullName": "Opportunity.No_Meta"})["errorCode"] == \
        "FIELD_INTEGRITY_EXCEPTION"
    # rules
    _create(admin, RULE, _rule_body())
    assert _refused(admin, RULE, _rule_body())["errorCode"] == "DUPLICATE_VALUE"
    cases = {
        "no such action": _rule_body(action="Missing", name="R1"),
        "action of another object": _rule_body(name="R2", obj="Account",
                                               criteriaItems=[{"field": "Account.Name",
                                                               "operation": "equals",
                                                               "value": "x"}]),
        "unknown trigger": _rule_body(name="R3", triggerType="onDelete"),
        "unknown criteria field": _rule_body(name="R4", criteriaItems=[
            {"field": "Opportunity.Nope__c", "operation": "equals", "value": "x"}]),
        "unknown operation": _rule_body(name="R5", criteriaItems=[
            {"field": "Opportunity.StageName", "operation": "within", "value": "x"}]),
        "bad filter": _rule_body(name="R6", booleanFilter="1 AND 7"),
        "formula and criteria": _rule_body(name="R7", formula="true"),
        "no criteria": _rule_body(name="R8", criteriaItems=[]),
        "formula the emulator cannot run": _rule_body(name="R9", criteriaItems=[],
                                                      formula="ISCHANGED(StageName)"),
        "other action types": _rule_body(name="R10", actions=[{"name": "Mail",
                                                               "type": "Alert"}]),
    }
    for label, body in cases.items():
        assert _refused(admin, RULE, body)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION", label
    # reading: unknown ids, and FullName/Metadata over more than one row
    with pytest.raises(SalesforceResourceNotFound):
        admin.restful(f"{MESSAGE}/{ids.to_18('04k5g0WD0000099')}")
    assert _refused(admin, f"{MESSAGE}/not-an-id", None, method="GET")["errorCode"] == \
        "MALFORMED_ID"
    _create(admin, MESSAGE, _message_body(rec.url, name="Second"))
    with pytest.raises(SalesforceMalformedRequest) as info:
        admin.toolingexecute("query/?q=SELECT+Id,FullName+FROM+WorkflowOutboundMessage")
    assert info.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    ids_only = admin.toolingexecute("query/?q=SELECT+Id,Name+FROM+WorkflowOutboundMessage")
    assert ids_only["totalSize"] == 2


def test_deactivate_patch_and_delete_change_delivery(emulator_reset, receiver):
    handle = emulator_reset
    first, second = receiver(), receiver()
    admin = _admin_sf(handle)
    message_id = _create(admin, MESSAGE, _message_body(first.url))
    rule_id = _create(admin, RULE, _rule_body(triggerType="onAllChanges"))
    sf = handle.sf()
    opp = sf.Opportunity.create({"Name": "Edited", "StageName": "Proposal",
                                 "CloseDate": "2030-01-01"})
    assert _settle(first, 1) == ["Edited"]
    # deactivated: no message
    inactive = _rule_body(triggerType="onAllChanges", active=False)["Metadata"]
    assert admin.restful(f"{RULE}/{rule_id}", method="PATCH", json={"Metadata": inactive}) \
        is None
    sf.Opportunity.update(opp["id"], {"Amount": 1})
    assert _settle(first, 2, timeout=1) == ["Edited"]
    # active again, with the message pointing somewhere else
    active = _rule_body(triggerType="onAllChanges")["Metadata"]
    admin.restful(f"{RULE}/{rule_id}", method="PATCH", json={"Metadata": active})
    moved = _message_body(second.url)["Metadata"]
    admin.restful(f"{MESSAGE}/{message_id}", method="PATCH", json={"Metadata": moved})
    assert admin.restful(f"{MESSAGE}/{message_id}")["Metadata"]["endpointUrl"] == second.url
    sf.Opportunity.update(opp["id"], {"Amount": 2})
    assert _settle(second, 1) == ["Edited"] and len(first.bodies) == 1
    # a message in use cannot be deleted; the rule can, and then nothing is sent
    in_use = _refused(admin, f"{MESSAGE}/{message_id}", None, method="DELETE")
    assert in_use["errorCode"] == "DELETE_FAILED"
    assert admin.restful(f"{RULE}/{rule_id}", method="DELETE") is None
    sf.Opportunity.update(opp["id"], {"Amount": 3})
    assert _settle(second, 2, timeout=1) == ["Edited"]
    admin.restful(f"{MESSAGE}/{message_id}", method="DELETE")
    with pytest.raises(SalesforceResourceNotFound):
        admin.restful(f"{MESSAGE}/{message_id}")
    rows = admin.toolingexecute("query/?q=SELECT+Id+FROM+WorkflowRule")
    assert rows["totalSize"] == 0


def test_rules_on_a_custom_object_name_it_by_id(emulator_reset, receiver):
    handle = emulator_reset
    rec = receiver()
    admin = _admin_sf(handle)
    object_id = _create(admin, "tooling/sobjects/CustomObject", {
        "FullName": "Wf_Probe__c", "Metadata": {
            "label": "Probe", "pluralLabel": "Probes", "deploymentStatus": "Deployed",
            "sharingModel": "ReadWrite", "nameField": {"type": "Text", "label": "Probe Name"}}})
    message_id = _create(admin, MESSAGE, _message_body(rec.url, name="Probe_Sync",
                                                       obj="Wf_Probe__c", fields=["Name"]))
    rule_id = _create(admin, RULE, {"FullName": "Wf_Probe__c.Every probe", "Metadata": {
        "actions": [{"name": "probe_sync", "type": "OutboundMessage"}], "active": True,
        "formula": "TRUE", "triggerType": "onCreateOnly"}})
    assert admin.restful(f"{MESSAGE}/{message_id}")["EntityDefinitionId"] == object_id
    assert admin.restful(f"{RULE}/{rule_id}")["TableEnumOrId"] == object_id
    admin.restful("sobjects/Wf_Probe__c", method="POST", json={"Name": "P-1"})
    assert _settle(rec, 1) == ["P-1"]


def test_boolean_filters_and_text_operators():
    from salesforce_emulator.outbound_rules import RuleError, _compare, evaluate_filter

    assert evaluate_filter("1 AND (2 OR 3)", [True, False, True]) is True
    assert evaluate_filter("1 AND (2 OR 3)", [True, False, False]) is False
    assert evaluate_filter("NOT 1 OR 2", [True, False]) is False
    assert evaluate_filter("(1)", [True]) is True
    for bad in ("1 AND 2 OR 3", "1 AND", "(1 AND 2", "1 2", "4", "1 XOR 2", ""):
        with pytest.raises(RuleError):
            evaluate_filter(bad, [True, True, True])
    assert _compare("contains", "Big Deal", ["small", "deal"]) is True
    assert _compare("not_contains", "Big Deal", ["small", "deal"]) is False
    assert _compare("not_contains", None, "x") is True
    assert _compare("starts_with", "CT-9", "ct-") is True
    assert _compare("contains", 1500, "50") is True


# -- separate emulator processes ---------------------------------------------------------------
def _boot(data_dir: Path, org_files: list[Path] | None = None):
    args = [sys.executable, "-m", "salesforce_emulator", "serve", "--port", "0",
            "--http-port", "0", "--data-dir", str(data_dir)]
    for path in org_files or []:
        args += ["--org-definition", str(path)]
    log = open(data_dir / "emulator.log", "a")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(args, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
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
    raise RuntimeError("emulator did not start within 30 s")


def _stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


def _session(client):
    creds = client.credentials("demo")
    session = requests.Session()
    session.trust_env = False
    session.verify = client.ca_bundle
    token = client.mint_token("demo", creds["admin"]["username"])["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session, f"{client.instance_url}/services/data/v59.0", creds


def test_a_restart_keeps_the_rules(tmp_path, receiver):
    rec = receiver()
    process, client = _boot(tmp_path)
    try:
        session, api, _creds = _session(client)
        assert session.post(f"{api}/{MESSAGE}", json=_message_body(rec.url)).status_code == 201
        assert session.post(f"{api}/{RULE}", json=_rule_body()).status_code == 201
    finally:
        _stop(process)
    process, client = _boot(tmp_path)
    try:
        session, api, _creds = _session(client)
        made = session.post(f"{api}/sobjects/Opportunity", json={
            "Name": "After restart", "StageName": "Proposal", "CloseDate": "2030-01-01"})
        assert made.status_code == 201, made.text
        assert _settle(rec, 1) == ["After restart"]
        rules = session.get(f"{api}/tooling/query",
                            params={"q": "SELECT Id, Name FROM WorkflowRule"}).json()
        assert [r["Name"] for r in rules["records"]] == ["Cothon Sync"]
        client.reset()  # back to the org definition: no rules, nothing sent
        rules = session.get(f"{api}/tooling/query",
                            params={"q": "SELECT Id FROM WorkflowRule"}).json()
        assert rules["totalSize"] == 0
        session.post(f"{api}/sobjects/Opportunity", json={
            "Name": "After reset", "StageName": "Proposal", "CloseDate": "2030-01-01"})
        assert _settle(rec, 2, timeout=1) == ["After restart"]
    finally:
        _stop(process)


def test_an_edition_without_workflow_refuses(tmp_path, receiver):
    rec = receiver()
    definition = yaml.safe_load((ORG_DIR / "demo.yaml").read_text(encoding="utf-8"))
    definition.setdefault("organization", {})["OrganizationType"] = "Essentials Edition"
    org_file = tmp_path / "essentials.yaml"
    org_file.write_text(yaml.safe_dump(definition), encoding="utf-8")
    process, client = _boot(tmp_path, [org_file])
    try:
        session, api, _creds = _session(client)
        for path, body in ((MESSAGE, _message_body(rec.url)), (RULE, _rule_body())):
            refused = session.post(f"{api}/{path}", json=body)
            assert refused.status_code == 400
            assert refused.json()[0]["errorCode"] == "FUNCTIONALITY_NOT_ENABLED"
            assert "Essentials Edition" in refused.json()[0]["message"]
        query = session.get(f"{api}/tooling/query",
                            params={"q": "SELECT Id FROM WorkflowOutboundMessage"})
        assert query.status_code == 400 and query.json()[0]["errorCode"] == "INVALID_TYPE"
        # the rest of the Tooling API still works there
        field = session.post(f"{api}/tooling/sobjects/CustomField", json={
            "FullName": "Account.Still_Works__c",
            "Metadata": {"type": "Text", "label": "Still works", "length": 20}})
        assert field.status_code == 201
    finally:
        _stop(process)
