"""Approval-process locks: a record submitted for approval refuses every non-admin write with
ENTITY_IS_LOCKED, as Salesforce does (single PATCH, DELETE, collections, composite, Bulk 2.0
ingest), an admin may still edit it, a recall unlocks it, and /_emulator/reset forgets the
locks. The hook and the record viewer's buttons both lock and unlock."""

from __future__ import annotations

import re

import pytest
import requests

from tests.emulator.test_bulk2 import _ingest, _rows

pytestmark = pytest.mark.emulator
OPP = {"Name": "Bridge repair RFP", "StageName": "Prospecting", "CloseDate": "2030-03-01"}
LOCKED = [{"message": "This record is locked. If you need to edit it, contact your admin",
           "errorCode": "ENTITY_IS_LOCKED", "fields": []}]
TOKEN = re.compile(r'name="_token" value="([0-9a-f]+)"')


def _new_opp(handle, **fields) -> str:
    response = handle.session().post(f"{handle.api()}/sobjects/Opportunity", json={**OPP, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_locked_record_refuses_a_single_patch_and_delete_until_recalled(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    opp = _new_opp(handle)
    submitted = handle.client.submit_for_approval(opp, comment="Needs VP sign-off")
    assert submitted["id"] == opp and submitted["sobject"] == "Opportunity"
    assert [a["id"] for a in handle.client.approvals()] == [opp]
    url = f"{handle.api()}/sobjects/Opportunity/{opp}"
    patched = session.patch(url, json={"StageName": "Proposal"})
    assert patched.status_code == 400 and patched.json() == LOCKED
    deleted = session.delete(url)
    assert deleted.status_code == 400 and deleted.json() == LOCKED
    assert session.get(url).json()["StageName"] == "Prospecting"  # nothing written, still readable
    handle.client.recall_approval(opp)
    assert handle.client.approvals() == []
    assert session.patch(url, json={"StageName": "Proposal"}).status_code == 204
    assert session.get(url).json()["StageName"] == "Proposal"


def test_an_admin_may_edit_a_locked_record(emulator_reset):
    handle = emulator_reset
    opp = _new_opp(handle)
    handle.client.submit_for_approval(opp)
    admin = handle.session(token=handle.token("demo", handle.creds("demo")["admin"]["username"]))
    response = admin.patch(f"{handle.api()}/sobjects/Opportunity/{opp}", json={"Amount": 5})
    assert response.status_code == 204


def test_collections_and_composite_report_the_lock_per_record(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    locked, free = _new_opp(handle), _new_opp(handle, Name="Free")
    handle.client.submit_for_approval(locked)
    out = session.patch(f"{handle.api()}/composite/sobjects", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Opportunity"}, "id": locked, "Amount": 1},
        {"attributes": {"type": "Opportunity"}, "id": free, "Amount": 2}]}).json()
    assert out[0] == {"id": locked, "success": False, "errors": [
        {"statusCode": "ENTITY_IS_LOCKED", "message": LOCKED[0]["message"], "fields": []}]}
    assert out[1]["success"] is True
    composite = session.post(f"{handle.api()}/composite", json={"compositeRequest": [
        {"method": "PATCH", "url": f"/services/data/v59.0/sobjects/Opportunity/{locked}",
         "referenceId": "lockedOne", "body": {"Amount": 3}}]}).json()
    [answer] = composite["compositeResponse"]
    assert answer["httpStatusCode"] == 400 and answer["body"] == LOCKED
    ref = session.get(f"{handle.api()}/sobjects/Opportunity/{locked}").json()
    assert ref["Amount"] is None


def test_a_bulk_update_fails_only_the_locked_rows(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    locked, free = _new_opp(handle), _new_opp(handle, Name="Free")
    handle.client.submit_for_approval(locked)
    job_id, info = _ingest(handle, session, {"object": "Opportunity", "operation": "update"},
                           f"Id,Amount\n{locked},10\n{free},20\n")
    assert info["numberRecordsProcessed"] == 2 and info["numberRecordsFailed"] == 1
    failed = _rows(session.get(f"{handle.api()}/jobs/ingest/{job_id}/failedResults").text)
    assert failed[0]["sf__Id"] == locked and failed[0]["sf__Error"].startswith("ENTITY_IS_LOCKED:")


def test_the_hook_refuses_bad_input_and_reset_forgets_the_locks(emulator_reset):
    handle = emulator_reset
    hook = f"{handle.http_url}/_emulator/approvals"
    headers = {"X-Emulator-Key": handle.client.admin_key}
    assert requests.post(hook, json={}, headers=headers, timeout=10).status_code == 400
    assert requests.post(hook, json={"id": "006000000000000AAA"}, headers=headers,
                         timeout=10).status_code == 404
    assert requests.post(hook, json={"id": "not-an-id"}, headers=headers, timeout=10).status_code == 404
    assert requests.delete(f"{hook}/006000000000000AAA", headers=headers, timeout=10).status_code == 404
    assert requests.get(hook, timeout=10).status_code == 403  # the admin key is required
    opp = _new_opp(handle)
    handle.client.submit_for_approval(opp)
    twice = requests.post(hook, json={"id": opp}, headers=headers, timeout=10)
    assert twice.status_code == 400 and "already in an approval process" in twice.json()["error"]
    handle.client.reset()
    assert handle.client.approvals() == []


def test_the_viewer_submits_for_approval_and_recalls(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    opp = _new_opp(handle)
    view = f"{handle.http_url}/lightning/r/Opportunity/{opp}/view"
    action = f"{handle.http_url}/lightning/r/Opportunity/{opp}/approval"
    page = requests.get(view, timeout=10).text
    assert "Submit for Approval" in page and "This record is locked" not in page
    assert requests.post(action, data={"action": "submit"}, timeout=10).status_code == 403  # no token
    token = TOKEN.search(page).group(1)
    sent = requests.post(action, data={"_token": token, "action": "submit"}, timeout=10,
                         allow_redirects=False)
    assert sent.status_code == 303
    page = requests.get(view, timeout=10).text
    assert "This record is locked." in page and "Recall Approval Request" in page
    patched = session.patch(f"{handle.api()}/sobjects/Opportunity/{opp}", json={"Amount": 1})
    assert patched.json() == LOCKED
    recalled = requests.post(action, data={"_token": token, "action": "recall"}, timeout=10,
                             allow_redirects=False)
    assert recalled.status_code == 303 and handle.client.approvals() == []
    assert session.patch(f"{handle.api()}/sobjects/Opportunity/{opp}", json={"Amount": 1}).status_code == 204
