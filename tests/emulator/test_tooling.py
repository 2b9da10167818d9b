"""Tooling API: CustomField / CustomObject creation as the Cothon app sends it, visible in
describes at once, writable and queryable; duplicates and bad metadata refused."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.emulator


def _admin(handle):
    return handle.session(token=handle.token("demo", handle.demo["admin"]["username"]))


def _field(session, handle, full_name, metadata):
    return session.post(f"{handle.api()}/tooling/sobjects/CustomField",
                        json={"FullName": full_name, "Metadata": metadata})


def _describe_fields(session, handle, sobject):
    return {f["name"]: f for f in
            session.get(f"{handle.api()}/sobjects/{sobject}/describe").json()["fields"]}


def test_custom_fields_of_every_type(emulator_reset):
    handle = emulator_reset
    admin = _admin(handle)
    created = _field(admin, handle, "Opportunity.Cothon_Ext_Ref__c", {
        "type": "Text", "label": "Cothon External Reference", "length": 50, "externalId": True,
        "unique": True})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["success"] is True and body["errors"] == [] and body["id"].startswith("00N")
    specs = {
        "Budget__c": {"type": "Currency", "label": "Budget", "precision": 18, "scale": 2},
        "Score__c": {"type": "Number", "label": "Score", "precision": 6, "scale": 0},
        "Win_Chance__c": {"type": "Percent", "label": "Win chance", "precision": 5, "scale": 2},
        "Tier__c": {"type": "Picklist", "label": "Tier", "valueSet": {
            "restricted": True, "valueSetDefinition": {"value": [
                {"fullName": "Gold", "label": "Gold", "default": False},
                {"fullName": "Silver", "label": "Silver", "default": True}]}}},
        "Seen_At__c": {"type": "DateTime", "label": "Seen at"},
        "Due__c": {"type": "Date", "label": "Due"},
        "Link__c": {"type": "Url", "label": "Link"},
        "Notes_Long__c": {"type": "LongTextArea", "label": "Notes", "length": 32768,
                          "visibleLines": 5},
        "Flag__c": {"type": "Checkbox", "label": "Flag", "defaultValue": "false"},
        "Buyer_Account__c": {"type": "Lookup", "label": "Buyer Account",
                             "referenceTo": "Account", "relationshipName": "Buyer_Opps",
                             "deleteConstraint": "SetNull"},
    }
    for name, meta in specs.items():
        response = _field(admin, handle, f"Opportunity.{name}", meta)
        assert response.status_code == 201, (name, response.text)
    # The integration user sees and can write the new fields at once
    session = handle.session()
    fields = _describe_fields(session, handle, "Opportunity")
    ref = fields["Cothon_Ext_Ref__c"]
    assert ref["type"] == "string" and ref["length"] == 50 and ref["externalId"] and ref["unique"]
    assert fields["Budget__c"]["type"] == "currency" and fields["Budget__c"]["scale"] == 2
    assert fields["Score__c"]["type"] == "double"
    assert fields["Win_Chance__c"]["type"] == "percent"
    assert fields["Tier__c"]["restrictedPicklist"] is True
    assert [v["value"] for v in fields["Tier__c"]["picklistValues"]] == ["Gold", "Silver"]
    assert fields["Seen_At__c"]["type"] == "datetime" and fields["Due__c"]["type"] == "date"
    assert fields["Link__c"]["type"] == "url" and fields["Flag__c"]["type"] == "boolean"
    assert fields["Notes_Long__c"]["type"] == "textarea" and fields["Notes_Long__c"]["length"] == 32768
    lookup = fields["Buyer_Account__c"]
    assert lookup["referenceTo"] == ["Account"] and lookup["relationshipName"] == "Buyer_Account__r"
    assert fields["Buyer_Account__c"]["updateable"] is True
    account = {r["relationshipName"] for r in
               session.get(f"{handle.api()}/sobjects/Account/describe").json()["childRelationships"]}
    assert "Buyer_Opps__r" in account
    sf = handle.sf()
    acct = sf.Account.create({"Name": "Buyer"})
    opp = sf.Opportunity.create({"Name": "With new fields", "StageName": "Prospecting",
                                 "CloseDate": "2030-01-01", "Cothon_Ext_Ref__c": "X-1",
                                 "Budget__c": 10.256, "Tier__c": "Gold",
                                 "Buyer_Account__c": acct["id"], "Flag__c": True})
    got = sf.Opportunity.get_by_custom_id("Cothon_Ext_Ref__c", "X-1")
    assert got["Id"] == opp["id"] and got["Budget__c"] == 10.26 and got["Tier__c"] == "Gold"
    bad = session.post(f"{handle.api()}/sobjects/Opportunity", json={
        "Name": "bad", "StageName": "Prospecting", "CloseDate": "2030-01-01", "Tier__c": "Bronze"})
    assert bad.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    rows = sf.query("SELECT Id, Buyer_Account__r.Name FROM Opportunity "
                    "WHERE Cothon_Ext_Ref__c = 'X-1'")["records"]
    assert rows[0]["Buyer_Account__r"]["Name"] == "Buyer"
    dup = _field(admin, handle, "Opportunity.Cothon_Ext_Ref__c",
                 {"type": "Text", "label": "Again", "length": 10})
    assert dup.status_code == 400 and dup.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    for meta in ({"type": "Texty", "label": "Nope"}, {"type": "Text", "length": 10},
                 {"type": "Text", "label": "No length"},
                 {"type": "Number", "label": "Bad scale", "precision": 2, "scale": 3}):
        refused = _field(admin, handle, "Opportunity.Refused__c", meta)
        assert refused.status_code == 400, meta
        assert refused.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION", refused.json()
    assert _field(admin, handle, "Opportunity.NoSuffix", {"type": "Text", "label": "x",
                                                          "length": 5}).status_code == 400
    assert _field(admin, handle, "Nope__c.Field__c", {"type": "Text", "label": "x",
                                                      "length": 5}).status_code == 400


def test_activity_fields_land_on_task_and_event(emulator_reset):
    handle = emulator_reset
    admin = _admin(handle)
    response = _field(admin, handle, "Activity.Cothon_Channel__c",
                      {"type": "Text", "label": "Channel", "length": 40})
    assert response.status_code == 201
    for sobject in ("Task", "Event"):
        assert "Cothon_Channel__c" in _describe_fields(handle.session(), handle, sobject)
    found = admin.get(f"{handle.api()}/tooling/query", params={
        "q": "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField "
             "WHERE DeveloperName = 'Cothon_Channel'"}).json()
    assert found["size"] == 1 and found["records"][0]["TableEnumOrId"] == "Activity"
    assert found["records"][0]["Id"] == response.json()["id"]
    assert found["records"][0]["attributes"]["type"] == "CustomField"


def test_custom_object_creation_and_master_detail(emulator_reset):
    handle = emulator_reset
    admin = _admin(handle)
    url = f"{handle.api()}/tooling/sobjects/CustomObject"
    created = admin.post(url, json={"FullName": "Cothon_Bid__c", "Metadata": {
        "label": "Cothon Bid", "pluralLabel": "Cothon Bids",
        "nameField": {"type": "Text", "label": "Bid Name"},
        "deploymentStatus": "Deployed", "sharingModel": "ReadWrite"}})
    assert created.status_code == 201, created.text
    assert created.json()["id"].startswith("01I")
    lines = admin.post(url, json={"FullName": "Cothon_Bid_Line__c", "Metadata": {
        "label": "Cothon Bid Line", "pluralLabel": "Cothon Bid Lines",
        "nameField": {"type": "AutoNumber", "label": "Line", "displayFormat": "BL-{0000}"},
        "deploymentStatus": "Deployed", "sharingModel": "ReadWrite"}})
    assert lines.status_code == 201
    master = _field(admin, handle, "Cothon_Bid_Line__c.Cothon_Bid__c", {
        "type": "MasterDetail", "label": "Bid", "referenceTo": "Cothon_Bid__c",
        "relationshipName": "Lines"})
    assert master.status_code == 201, master.text
    assert _field(admin, handle, "Cothon_Bid__c.Cothon_Key__c", {
        "type": "Text", "label": "Key", "length": 80, "externalId": True,
        "unique": True}).status_code == 201
    # describeGlobal and describe, with a key prefix; the integration user may use it
    session = handle.session()
    listed = {o["name"]: o for o in session.get(f"{handle.api()}/sobjects").json()["sobjects"]}
    assert listed["Cothon_Bid__c"]["keyPrefix"].startswith("a") and listed["Cothon_Bid__c"]["custom"]
    sf = handle.sf()
    bid = sf.Cothon_Bid__c.create({"Name": "Bid one", "Cothon_Key__c": "b-1"})
    assert bid["id"].startswith(listed["Cothon_Bid__c"]["keyPrefix"])
    line = sf.Cothon_Bid_Line__c.create({"Cothon_Bid__c": bid["id"]})
    assert sf.Cothon_Bid_Line__c.get(line["id"])["Name"] == "BL-0001"
    rows = sf.query("SELECT Name, (SELECT Name FROM Lines__r) FROM Cothon_Bid__c")["records"]
    assert rows[0]["Lines__r"]["records"][0]["Name"] == "BL-0001"
    sf.Cothon_Bid__c.delete(bid["id"])  # master-detail cascades
    assert handle.client.records("demo", "Cothon_Bid_Line__c") == []
    again = admin.post(url, json={"FullName": "Cothon_Bid__c", "Metadata": {
        "label": "x", "pluralLabel": "xs", "nameField": {"type": "Text", "label": "N"}}})
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    missing = admin.post(url, json={"FullName": "Other__c", "Metadata": {"label": "x"}})
    assert missing.status_code == 400
    assert missing.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    objects = admin.get(f"{handle.api()}/tooling/query", params={
        "q": "SELECT Id, DeveloperName FROM CustomObject WHERE DeveloperName LIKE 'Cothon_Bid%'"
             " ORDER BY DeveloperName"}).json()
    assert [r["DeveloperName"] for r in objects["records"]] == ["Cothon_Bid", "Cothon_Bid_Line"]
    # reset returns to the org definition
    handle.client.reset()
    assert session.get(f"{handle.api()}/sobjects/Cothon_Bid__c/describe").status_code == 404


def test_cothon_install_shapes_on_an_org_without_them(emulator_reset):
    """The exact bodies integrations/custom_fields.py sends (requirement object + fields)."""
    handle = emulator_reset
    admin = _admin(handle)
    url = f"{handle.api()}/tooling/sobjects/CustomObject"
    body = {"FullName": "Cothon_Requirement2__c", "Metadata": {
        "label": "Cothon Requirement", "pluralLabel": "Cothon Requirements",
        "nameField": {"type": "AutoNumber", "label": "Requirement Number",
                      "displayFormat": "REQ-{000000}"},
        "deploymentStatus": "Deployed", "sharingModel": "ReadWrite"}}
    assert admin.post(url, json=body).status_code == 201
    picklist = {"type": "Picklist", "label": "Type", "valueSet": {
        "restricted": True, "valueSetDefinition": {"sorted": False, "value": [
            {"fullName": v, "default": False, "label": v} for v in ("Mandatory", "Rated")]}}}
    assert _field(admin, handle, "Cothon_Requirement2__c.Cothon_Type__c", picklist).status_code == 201
    assert _field(admin, handle, "Cothon_Requirement2__c.Cothon_Analysis__c", {
        "type": "MasterDetail", "label": "Analysis", "referenceTo": "Cothon_Analysis__c",
        "relationshipName": "Cothon_Requirements2"}).status_code == 201
    fields = _describe_fields(handle.session(), handle, "Cothon_Requirement2__c")
    assert fields["Name"]["autoNumber"] is True
    assert fields["Cothon_Analysis__c"]["nillable"] is False


def test_created_metadata_survives_a_restart(tmp_path):
    """A second emulator process on its own data dir: create, stop, start, still there."""
    import signal

    import requests

    from tests.emulator_process import _start

    def boot():
        process, client = _start(tmp_path)
        creds = client.credentials("demo")
        session = requests.Session()
        session.trust_env = False
        session.verify = client.ca_bundle
        token = client.mint_token("demo", creds["admin"]["username"])["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        return process, client, session, f"{client.instance_url}/services/data/v59.0"

    process, client, session, api = boot()
    try:
        assert session.post(f"{api}/tooling/sobjects/CustomField", json={
            "FullName": "Account.Kept__c",
            "Metadata": {"type": "Text", "label": "Kept", "length": 20}}).status_code == 201
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    process, client, session, api = boot()
    try:
        names = {f["name"] for f in
                 session.get(f"{api}/sobjects/Account/describe").json()["fields"]}
        assert "Kept__c" in names
        client.reset()
        names = {f["name"] for f in
                 session.get(f"{api}/sobjects/Account/describe").json()["fields"]}
        assert "Kept__c" not in names
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
