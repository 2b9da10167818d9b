"""Describes against real captured describes, limits, files, replication, cascades, FLS."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.emulator
FIXTURES = Path(__file__).resolve().parents[2] / "salesforce_emulator" / "standard_objects"
OPP = {"Name": "Bridge repair RFP", "StageName": "Prospecting", "CloseDate": "2030-03-01"}


def _fixture(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.mark.parametrize("sobject", ["Opportunity", "Account", "Contact"])
def test_describe_matches_real_describe_field_by_field(emulator_reset, sobject):
    admin = emulator_reset.token("sandbox", emulator_reset.sandbox["admin"]["username"])
    ours = emulator_reset.session(token=admin).get(
        f"{emulator_reset.api()}/sobjects/{sobject}/describe").json()
    real = _fixture(sobject)
    real_fields = {f["name"]: f for f in real["fields"] if not f["name"].endswith("__c")}
    our_fields = {f["name"]: f for f in ours["fields"]}
    assert set(real_fields) <= set(our_fields)
    for name, field in real_fields.items():
        assert our_fields[name] == field, name
    for key in ("keyPrefix", "label", "labelPlural", "name", "createable", "queryable"):
        assert ours[key] == real[key], key
    assert ours["urls"]["sobject"] == f"/services/data/v59.0/sobjects/{sobject}"


def test_demo_org_overrides_and_custom_fields(emulator_reset):
    ours = emulator_reset.session().get(
        f"{emulator_reset.api()}/sobjects/Opportunity/describe").json()
    fields = {f["name"]: f for f in ours["fields"]}
    assert [p["value"] for p in fields["StageName"]["picklistValues"]] == [
        "Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
    assert [p["value"] for p in fields["Type"]["picklistValues"]] == [
        "New Business", "Existing Business", "Services"]
    assert fields["Name"]["length"] == 120
    ref = fields["Cothon_Ref__c"]
    assert (ref["type"], ref["length"], ref["externalId"], ref["unique"], ref["custom"]) == (
        "string", 50, True, True, True)
    assert fields["Cothon_Method__c"]["restrictedPicklist"] is True
    assert fields["Cothon_Compliance__c"]["type"] == "percent"
    assert fields["Cothon_Last_Analysis__c"]["type"] == "datetime"
    rels = {c["relationshipName"] for c in ours["childRelationships"]}
    assert {"Cothon_Analyses__r", "Tasks", "Notes", "Attachments"} <= rels
    req = emulator_reset.session().get(
        f"{emulator_reset.api()}/sobjects/Cothon_Requirement__c/describe").json()
    master = next(f for f in req["fields"] if f["name"] == "Cothon_Analysis__c")
    assert master["referenceTo"] == ["Cothon_Analysis__c"] and master["cascadeDelete"] is True
    task = emulator_reset.session().get(f"{emulator_reset.api()}/sobjects/Task/describe").json()
    assert task["keyPrefix"] == "00T"
    assert "Cothon_Activity_Key__c" in {f["name"] for f in task["fields"]}
    glob = emulator_reset.session().get(f"{emulator_reset.api()}/sobjects").json()
    assert glob["maxBatchSize"] == 200
    names = {s["name"] for s in glob["sobjects"]}
    assert {"Opportunity", "Cothon_Analysis__c", "Task", "ContentVersion"} <= names
    assert "Lead" not in names  # the integration profile has no access


def test_sandbox_org(emulator_reset):
    sf = emulator_reset.sf("sandbox")
    org = sf.query("SELECT IsSandbox, OrganizationType FROM Organization")["records"][0]
    assert org["IsSandbox"] is True
    assert sf.Opportunity.upsert("Cothon_Ref__c/S-1", {**OPP, "StageName": "Needs Analysis"}) == 201


def test_fls_and_object_permissions(emulator_reset):
    session = emulator_reset.session()
    account = session.get(f"{emulator_reset.api()}/sobjects/Account/describe").json()
    fields = {f["name"]: f for f in account["fields"]}
    assert "AnnualRevenue" not in fields
    assert fields["Rating"]["updateable"] is False and fields["Rating"]["createable"] is False
    assert session.get(f"{emulator_reset.api()}/sobjects/Lead/describe").status_code == 404
    contact = session.post(f"{emulator_reset.api()}/sobjects/Contact", json={"LastName": "X"})
    assert contact.status_code == 400
    assert contact.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    hidden = session.get(f"{emulator_reset.api()}/query",
                         params={"q": "SELECT AnnualRevenue FROM Account"})
    assert hidden.status_code == 400 and hidden.json()[0]["errorCode"] == "INVALID_FIELD"


def test_limits_header_and_request_limit(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    first = session.get(f"{handle.api()}/limits")
    used, allowance = first.headers["Sforce-Limit-Info"].removeprefix("api-usage=").split("/")
    assert int(allowance) == 5000 and int(used) >= 1
    assert first.json()["DailyApiRequests"]["Max"] == 5000
    handle.client.set_limits("demo", allowance=3, used=0)
    for _ in range(3):
        assert session.get(f"{handle.api()}/limits").status_code == 200
    over = session.get(f"{handle.api()}/limits")
    assert over.status_code == 403
    assert over.json() == [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                            "message": "TotalRequests Limit exceeded."}]
    assert over.headers["Sforce-Limit-Info"] == "api-usage=4/3"  # the refused call counts too
    handle.client.advance_clock(24 * 3600 + 60)  # the rolling window moves on
    assert session.get(f"{handle.api()}/limits").status_code == 401  # 2 h sessions expired too
    assert handle.session(token=handle.token()).get(f"{handle.api()}/limits").status_code == 200
    handle.client.reset_clock()
    handle.client.set_limits("demo", window="fixed", reset_hour_utc=0, used=3)
    assert session.get(f"{handle.api()}/limits").status_code == 403
    assert handle.client.limits("demo")["window"] == "fixed"


def test_files_notes_tasks_and_viewer(emulator_reset):
    handle = emulator_reset
    sf = handle.sf()
    opp = sf.Opportunity.create(OPP)["id"]
    data = b"%PDF-1.4 fake"
    cv = sf.ContentVersion.create({"Title": "Bid", "PathOnClient": "bid.pdf",
                                   "VersionData": base64.b64encode(data).decode(),
                                   "FirstPublishLocationId": opp,
                                   "Cothon_File_Key__c": "F-1"})
    version = sf.ContentVersion.get(cv["id"])
    assert version["ContentDocumentId"].startswith("069") and version["FileType"] == "PDF"
    assert version["VersionData"] == f"/services/data/v59.0/sobjects/ContentVersion/{cv['id']}/VersionData"
    session = handle.session()
    raw = session.get(f"{handle.instance_url}{version['VersionData']}")
    assert raw.content == data
    links = sf.query(f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = "
                     f"'{version['ContentDocumentId']}'")
    assert opp in {r["LinkedEntityId"] for r in links["records"]}
    files = {"entity_content": (None, json.dumps({"Title": "Multi", "PathOnClient": "m.txt",
                                                  "FirstPublishLocationId": opp}),
                                "application/json"),
             "VersionData": ("m.txt", b"multipart bytes", "application/octet-stream")}
    multi = session.post(f"{handle.api()}/sobjects/ContentVersion", files=files)
    assert multi.status_code == 201, multi.text
    assert session.get(f"{handle.api()}/sobjects/ContentVersion/{multi.json()['id']}/VersionData"
                       ).content == b"multipart bytes"
    att = sf.Attachment.create({"ParentId": opp, "Name": "a.txt",
                                "Body": base64.b64encode(b"att").decode()})
    assert session.get(f"{handle.api()}/sobjects/Attachment/{att['id']}/Body").content == b"att"
    note = sf.Note.create({"ParentId": opp, "Title": "Debrief", "Body": "Went well"})
    task = sf.Task.create({"WhatId": opp, "Subject": "Submit", "Status": "Completed",
                           "Cothon_Activity_Key__c": "T-1"})
    assert sf.Task.get(task["id"])["IsClosed"] is True
    page = requests.get(f"{handle.http_url}/lightning/r/Opportunity/{opp}/view")
    assert page.status_code == 200
    for text in ("Bridge repair RFP", "Debrief", "Submit", "Files", "Bid"):
        assert text in page.text, text
    assert note["id"] in page.text


def test_updated_deleted_and_cascade_delete(emulator_reset):
    handle = emulator_reset
    sf = handle.sf()
    start = datetime.now(timezone.utc) - timedelta(minutes=1)
    opp = sf.Opportunity.create(OPP)["id"]
    analysis = sf.Cothon_Analysis__c.create({"Name": "A", "Cothon_Opportunity__c": opp,
                                             "Cothon_Key__c": "AN-1"})["id"]
    req = sf.Cothon_Requirement__c.create({"Cothon_Analysis__c": analysis,
                                           "Cothon_Key__c": "RQ-1", "Cothon_Type__c": "Mandatory"})
    assert sf.Cothon_Requirement__c.get(req["id"])["Name"].startswith("REQ-")
    task = sf.Task.create({"WhatId": opp, "Subject": "Call"})["id"]
    end = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert opp in sf.Opportunity.updated(start, end)["ids"]
    sf.Cothon_Analysis__c.delete(analysis)
    assert handle.client.records("demo", "Cothon_Requirement__c") == []  # master-detail cascade
    sf.Opportunity.delete(opp)
    deleted = sf.Opportunity.deleted(start, end + timedelta(minutes=1))
    assert opp in {d["id"] for d in deleted["deletedRecords"]}
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)
    assert sf.query(f"SELECT Id FROM Task WHERE Id = '{task}'")["totalSize"] == 0
    all_rows = sf.query_all(f"SELECT Id, IsDeleted FROM Opportunity WHERE Id = '{opp}'",
                            include_deleted=True)
    assert all_rows["records"][0]["IsDeleted"] is True
