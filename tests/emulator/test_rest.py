"""REST CRUD, upsert, collections and composite through simple-salesforce and requests."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (SalesforceMalformedRequest, SalesforceMoreThanOneRecord,
                                          SalesforceResourceNotFound)

pytestmark = pytest.mark.emulator

OPP = {"Name": "Bridge repair RFP", "StageName": "Prospecting", "CloseDate": "2030-03-01"}


def _count(handle, sobject, org="demo"):
    return len(handle.client.records(org, sobject))


def test_crud_through_simple_salesforce(emulator_reset):
    sf = emulator_reset.sf()
    created = sf.Account.create({"Name": "Shared Services Canada"})
    assert created["success"] is True and created["id"].startswith("001")
    assert len(created["id"]) == 18
    opp = sf.Opportunity.create({**OPP, "AccountId": created["id"], "Amount": 1500.5,
                                 "Cothon_Method__c": "RFP"})
    record = sf.Opportunity.get(opp["id"])
    assert record["Name"] == OPP["Name"] and record["Amount"] == 1500.5
    assert record["attributes"]["type"] == "Opportunity"
    for system in ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                   "SystemModstamp", "IsDeleted", "OwnerId"):
        assert record[system] is not None, system
    assert record["OwnerId"] == emulator_reset.demo["user_id"]
    assert sf.Opportunity.update(opp["id"], {"StageName": "Closed Won"}) == 204
    updated = sf.Opportunity.get(opp["id"])
    assert updated["IsWon"] is True and updated["IsClosed"] is True
    assert updated["SystemModstamp"] >= record["SystemModstamp"]
    assert sf.Opportunity.delete(opp["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Opportunity.get(opp["id"])
    assert err.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    session = emulator_reset.session()
    fields = session.get(f"{emulator_reset.api()}/sobjects/Account/{created['id']}",
                         params={"fields": "Name,Id"}).json()
    assert set(fields) == {"attributes", "Name", "Id"}
    # 15-character ids are accepted and answered with the 18-character id
    short = session.get(f"{emulator_reset.api()}/sobjects/Account/{created['id'][:15]}").json()
    assert short["Id"] == created["id"]


def test_upsert_created_updated_multiple_and_bad_field(emulator_reset):
    sf = emulator_reset.sf()
    assert sf.Opportunity.upsert("Cothon_Ref__c/PW-24-001", OPP) == 201
    assert sf.Opportunity.upsert("Cothon_Ref__c/PW-24-001", {"Amount": 10}) == 200
    session = emulator_reset.session()
    raw = session.patch(f"{emulator_reset.api()}/sobjects/Opportunity/Cothon_Ref__c/PW-24-001",
                        json={"Amount": 20})
    assert raw.status_code == 200
    assert raw.json()["created"] is False and raw.json()["success"] is True
    found = sf.Opportunity.get_by_custom_id("Cothon_Ref__c", "pw-24-001")  # case-insensitive
    assert found["Amount"] == 20
    bad = session.patch(f"{emulator_reset.api()}/sobjects/Opportunity/Namez/x", json={})
    assert bad.status_code == 404
    assert bad.json() == [{"message": "Provided external ID field does not exist or is not "
                                      "accessible: Namez", "errorCode": "NOT_FOUND"}]
    # Two ContentVersions sharing a non-unique external id -> 300 with record URLs
    for _ in range(2):
        sf.ContentVersion.create({"Title": "spec", "PathOnClient": "spec.txt",
                                  "VersionData": "aGVsbG8=", "Cothon_File_Key__c": "K1"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.ContentVersion.upsert("Cothon_File_Key__c/K1", {"Title": "x"})
    multi = session.patch(f"{emulator_reset.api()}/sobjects/ContentVersion/Cothon_File_Key__c/K1",
                          json={"Title": "x"})
    assert multi.status_code == 300 and len(multi.json()) == 2
    assert multi.json()[0].startswith("/services/data/v59.0/sobjects/ContentVersion/068")


def test_collections_partial_failure_and_all_or_none(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    url = f"{handle.api()}/composite/sobjects"
    before = _count(handle, "Account")
    records = [{"attributes": {"type": "Account"}, "Name": "A"},
               {"attributes": {"type": "Account"}},
               {"attributes": {"type": "Opportunity"}, **OPP, "Cothon_Pursuit__c": "Maybe"}]
    partial = session.post(url, json={"allOrNone": False, "records": records})
    assert partial.status_code == 200
    body = partial.json()
    assert body[0]["success"] is True and body[0]["errors"] == []
    assert body[1] == {"success": False, "errors": [{
        "statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]",
        "fields": ["Name"]}]}
    assert body[2]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert _count(handle, "Account") == before + 1
    rolled = session.post(url, json={"allOrNone": True, "records": records}).json()
    assert rolled[0] == {"success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request was "
                   "using AllOrNone header", "fields": []}]}
    assert _count(handle, "Account") == before + 1
    # update + delete
    acc_id = body[0]["id"]
    upd = session.patch(url, json={"records": [
        {"attributes": {"type": "Account"}, "Id": acc_id, "Name": "A2"},
        {"attributes": {"type": "Account"}, "Name": "no id"}]}).json()
    assert upd[0] == {"id": acc_id, "success": True, "errors": []}
    assert upd[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    got = session.get(f"{url}/Account", params={"ids": f"{acc_id},001000000000000AAA",
                                                 "fields": "Name"}).json()
    assert got[0]["Name"] == "A2" and got[1] is None
    deleted = session.delete(url, params={"ids": f"{acc_id},001RM000003oLrB000",
                                          "allOrNone": "false"}).json()
    assert deleted[0] == {"id": acc_id, "success": True, "errors": []}
    assert deleted[1]["errors"][0]["statusCode"] == "MALFORMED_ID"
    too_many = session.post(url, json={"records": [{"attributes": {"type": "Account"},
                                                    "Name": str(i)} for i in range(201)]})
    assert too_many.status_code == 400


def test_collections_upsert(emulator_reset):
    session = emulator_reset.session()
    url = f"{emulator_reset.api()}/composite/sobjects/Opportunity/Cothon_Ref__c"
    recs = [{"attributes": {"type": "Opportunity"}, **OPP, "Cothon_Ref__c": f"U-{i}"}
            for i in range(3)]
    first = session.patch(url, json={"allOrNone": False, "records": recs}).json()
    assert [r["created"] for r in first] == [True, True, True]
    second = session.patch(url, json={"allOrNone": False, "records": recs[:2] + [
        {"attributes": {"type": "Opportunity"}, **OPP, "Cothon_Ref__c": "U-9"}]}).json()
    assert [r["created"] for r in second] == [False, False, True]
    assert second[0]["id"] == first[0]["id"]


def test_composite_references_and_all_or_none(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    v = "/services/data/v59.0"
    request = {"compositeRequest": [
        {"method": "POST", "url": f"{v}/sobjects/Account", "referenceId": "acct",
         "body": {"Name": "Composite Co"}},
        {"method": "POST", "url": f"{v}/sobjects/Opportunity", "referenceId": "opp",
         "body": {**OPP, "AccountId": "@{acct.id}"}},
        {"method": "GET", "url": f"{v}/query?q=SELECT+Id,AccountId+FROM+Opportunity+WHERE+"
                                 "AccountId='@{acct.id}'", "referenceId": "q"},
        {"method": "PATCH", "url": f"{v}/sobjects/Opportunity/@{{q.records[0].Id}}",
         "referenceId": "upd", "body": {"Amount": 42}},
    ]}
    out = session.post(f"{handle.api()}/composite", json=request).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [201, 201, 200, 204]
    assert out[2]["body"]["records"][0]["AccountId"] == out[0]["body"]["id"]
    assert out[0]["httpHeaders"]["Location"].endswith(out[0]["body"]["id"])
    failing = {"allOrNone": False, "compositeRequest": [
        {"method": "POST", "url": f"{v}/sobjects/Account", "referenceId": "bad", "body": {}},
        {"method": "POST", "url": f"{v}/sobjects/Opportunity", "referenceId": "dep",
         "body": {**OPP, "AccountId": "@{bad.id}"}},
        {"method": "POST", "url": f"{v}/sobjects/Account", "referenceId": "ok",
         "body": {"Name": "Independent"}},
    ]}
    out = session.post(f"{handle.api()}/composite", json=failing).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [400, 400, 201]
    assert out[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    before = _count(handle, "Account")
    failing["allOrNone"] = True
    failing["compositeRequest"] = failing["compositeRequest"][2:] + failing["compositeRequest"][:1]
    out = session.post(f"{handle.api()}/composite", json=failing).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [400, 400]
    assert out[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert _count(handle, "Account") == before


def test_bad_input_leaves_store_unchanged(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    url = f"{handle.api()}/sobjects/Opportunity"
    before = _count(handle, "Opportunity")

    def post(**kwargs):
        return session.post(url, **kwargs)

    bad_json = post(data="{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    wrong_type = post(json={**OPP, "Amount": "lots"})
    assert wrong_type.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert "Cannot deserialize instance of currency" in wrong_type.json()[0]["message"]
    bad_date = post(json={**OPP, "CloseDate": "2030-13-45"})
    assert bad_date.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    unknown = post(json={**OPP, "Nope__c": 1})
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"
    too_long = post(json={**OPP, "Name": "x" * 121})
    assert too_long.json()[0]["errorCode"] == "STRING_TOO_LONG"
    assert too_long.json()[0]["fields"] == ["Name"]
    missing = post(json={"Name": "x"})
    assert missing.json()[0] == {"message": "Required fields are missing: [StageName, CloseDate]",
                                 "errorCode": "REQUIRED_FIELD_MISSING",
                                 "fields": ["StageName", "CloseDate"]}
    readonly = post(json={**OPP, "IsWon": True})
    assert readonly.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    bad_ref = post(json={**OPP, "AccountId": "001000000000000AAA"})
    assert bad_ref.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    malformed = post(json={**OPP, "AccountId": "nope"})
    assert malformed.json()[0]["errorCode"] == "MALFORMED_ID"
    negative = post(json={**OPP, "Amount": -1})
    assert negative.json()[0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert post(json={**OPP, "Cothon_Ref__c": "DUP"}).status_code == 201
    dup = post(json={**OPP, "Cothon_Ref__c": "dup"})
    assert dup.json()[0]["errorCode"] == "DUPLICATE_VALUE"
    handle.client.settings(max_request_bytes=1000)
    big = post(json={**OPP, "Description": "x" * 5000})
    assert big.status_code == 413 and big.json()[0]["errorCode"] == "REQUEST_ENTITY_TOO_LARGE"
    handle.client.settings(max_request_bytes=50 * 1024 * 1024)
    assert _count(handle, "Opportunity") == before + 1
    with pytest.raises(SalesforceMalformedRequest):
        handle.sf().Opportunity.create({"Name": "only a name"})
    no_such = session.get(f"{handle.api()}/sobjects/Nope__c/describe")
    assert no_such.status_code == 404
    assert no_such.json() == [{"message": "The requested resource does not exist",
                               "errorCode": "NOT_FOUND"}]
