"""The record viewer's Edit and New forms save through Dml as the org's admin: the change is
visible through REST, validation rules and required fields answer on the form with nothing
written, a POST without the page's token (or from another origin) is refused, record-triggered
flows send their outbound message exactly as for an API write, and none of it counts against
the org's API allowance."""

from __future__ import annotations

import re

import pytest
import requests

from tests.emulator.test_tooling_flow import FLOW, MESSAGE, _flow, _message, _opp, _queued
from tests.emulator.test_tooling_workflow import (
    _admin_sf,
    _create,
    _settle,
    receiver,  # noqa: F401 - the fixture
)

pytestmark = pytest.mark.emulator

TOKEN = re.compile(r'name="_token" value="([0-9a-f]+)"')


def _form_token(url: str) -> str:
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    return TOKEN.search(page.text).group(1)


def _edit(handle, record_id: str, **fields):
    url = f"{handle.http_url}/lightning/r/Opportunity/{record_id}/edit"
    return requests.post(url, data={"_token": _form_token(url), **fields}, timeout=10,
                         allow_redirects=False)


def _used(handle) -> int:
    return handle.client.limits("demo")["used"]


def test_an_edit_saved_in_the_viewer_is_visible_through_rest_and_uses_no_api_calls(
        emulator_reset):
    handle = emulator_reset
    sf = handle.sf()
    opp = _opp(sf, "Viewer edit", Amount=12000)
    before = _used(handle)
    form = requests.get(f"{handle.http_url}/lightning/r/Opportunity/{opp}/edit", timeout=10)
    assert '<option value="Proposal">Proposal</option>' in form.text
    assert 'name="IsPrivate" value="true"' in form.text  # a boolean is a checkbox
    for system in ('name="CreatedDate"', 'name="Id"', 'name="IsClosed"', 'name="LastModifiedById"'):
        assert system not in form.text, system  # read-only and system fields are not shown
    saved = _edit(handle, opp, StageName="Proposal", Amount="15000.5", CloseDate="2031-02-03",
                  Description="Changed in the viewer")
    assert saved.status_code == 303
    assert saved.headers["Location"] == f"/lightning/r/Opportunity/{opp}/view"
    record = sf.Opportunity.get(opp)
    after_rest = _used(handle)
    assert (record["StageName"], record["Amount"], record["CloseDate"], record["Description"]) \
        == ("Proposal", 15000.5, "2031-02-03", "Changed in the viewer")
    creds = handle.creds("demo")
    admin = next(u for u in creds["users"] if u["username"] == creds["admin"]["username"])
    assert record["LastModifiedById"] == admin["id"] != creds["user_id"]  # saved as the admin
    assert record["Name"] == "Viewer edit"  # a field the form did not send is left alone
    view = requests.get(f"{handle.http_url}{saved.headers['Location']}", timeout=10)
    assert "Changed in the viewer" in view.text
    # the viewer's GETs and POST counted nothing; the one REST read counted one
    assert after_rest == before + 1


def test_a_validation_rule_error_shows_on_the_form_and_nothing_changes(emulator_reset):
    handle = emulator_reset
    sf = handle.sf()
    opp = _opp(sf, "Guarded", Amount=500)
    refused = _edit(handle, opp, StageName="Proposal", Amount="-5")
    assert refused.status_code == 400
    assert "We hit a snag." in refused.text
    assert "Amount must not be negative." in refused.text
    assert 'class="edit-field has-error"' in refused.text
    assert 'name="Amount" value="-5"' in refused.text  # the entered values are kept
    assert '<option value="Proposal" selected>' in refused.text
    record = sf.Opportunity.get(opp)
    assert (record["StageName"], record["Amount"]) == ("Prospecting", 500)


@pytest.mark.parametrize(("fields", "message"), [
    ({"Name": ""}, "Required fields are missing: [Name]"),
    ({"Amount": "a lot"}, "Amount: value not of required type: a lot"),
    ({"Cothon_Method__c": "Handshake"},
     "Procurement Method: bad value for restricted picklist field: Handshake"),
])
def test_bad_input_is_refused_with_salesforce_messages_and_nothing_written(
        emulator_reset, fields, message):
    handle = emulator_reset
    sf = handle.sf()
    opp = _opp(sf, "Unchanged", Amount=700)
    before = sf.Opportunity.get(opp)
    refused = _edit(handle, opp, **fields)
    assert refused.status_code == 400
    assert message in refused.text
    after = sf.Opportunity.get(opp)
    assert after["LastModifiedDate"] == before["LastModifiedDate"]


def test_a_post_without_the_pages_token_or_from_another_origin_is_refused(emulator_reset):
    handle = emulator_reset
    sf = handle.sf()
    opp = _opp(sf, "Protected")
    other = _opp(sf, "Other")
    url = f"{handle.http_url}/lightning/r/Opportunity/{opp}/edit"
    token = _form_token(url)
    other_token = _form_token(f"{handle.http_url}/lightning/r/Opportunity/{other}/edit")
    attempts = [
        ({"StageName": "Proposal"}, {}),  # no token
        ({"_token": "0" * 64, "StageName": "Proposal"}, {}),  # a forged one
        ({"_token": other_token, "StageName": "Proposal"}, {}),  # another form's token
        ({"_token": token, "StageName": "Proposal"}, {"Origin": "https://evil.example"}),
    ]
    for data, headers in attempts:
        answer = requests.post(url, data=data, headers=headers, timeout=10,
                               allow_redirects=False)
        assert answer.status_code == 403, (data, headers)
    assert sf.Opportunity.get(opp)["StageName"] == "Prospecting"
    # the same page's own origin is accepted
    ok = requests.post(url, data={"_token": token, "StageName": "Proposal"},
                       headers={"Origin": handle.http_url}, timeout=10, allow_redirects=False)
    assert ok.status_code == 303
    assert sf.Opportunity.get(opp)["StageName"] == "Proposal"


def test_unknown_deleted_or_wrong_object_record_is_not_found(emulator_reset):
    handle = emulator_reset
    opp = _opp(handle.sf(), "Somewhere")
    binned = _opp(handle.sf(), "Binned")
    handle.sf().Opportunity.delete(binned)
    view = requests.get(f"{handle.http_url}/lightning/r/Opportunity/{binned}/view", timeout=10)
    assert "Recycle Bin" in view.text and "/edit" not in view.text  # no Edit on a deleted record
    for path in (f"/lightning/r/Account/{opp}/edit", f"/lightning/r/Opportunity/{binned}/edit",
                 "/lightning/r/Opportunity/006000000000000AAA/edit",
                 "/lightning/r/Opportunity/not-an-id/edit", "/lightning/o/Contract/new"):
        assert requests.get(f"{handle.http_url}{path}", timeout=10).status_code == 404, path


def test_a_viewer_edit_to_the_trigger_stage_fires_the_flow_and_a_new_record_at_stage_does_not(
        emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    rec = receiver()
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(rec.url))
    _create(admin, FLOW, _flow())  # Update, only when updated to meet the conditions
    opp = _opp(handle.sf(), "Edited to Proposal", Amount=50000)
    before = _used(handle)
    assert _edit(handle, opp, StageName="Proposal").status_code == 303
    # New, created already at the stage: the flow (Update only) does not fire for it
    new_url = f"{handle.http_url}/lightning/o/Opportunity/new?org=demo"
    created = requests.post(new_url, data={
        "_token": _form_token(new_url), "Name": "Born at Proposal", "StageName": "Proposal",
        "CloseDate": "2031-01-01", "Amount": "60000", "IsPrivate": "false"},
        timeout=10, allow_redirects=False)
    assert created.status_code == 303
    new_id = created.headers["Location"].split("/")[4]
    assert _used(handle) == before
    assert _queued(handle) == [("Cothon Opportunity Flow", opp)]
    assert _settle(rec, 1) == ["Edited to Proposal"]
    born = handle.sf().Opportunity.get(new_id)
    assert (born["Name"], born["StageName"], born["Amount"]) == ("Born at Proposal", "Proposal",
                                                                60000)


def test_new_form_requires_the_required_fields(emulator_reset):
    handle = emulator_reset
    new_url = f"{handle.http_url}/lightning/o/Opportunity/new?org=demo"
    listing = requests.get(f"{handle.http_url}/lightning/o/Opportunity/list?org=demo", timeout=10)
    assert 'href="/lightning/o/Opportunity/new?org=demo">New</a>' in listing.text
    count = len(handle.client.records("demo", "Opportunity"))
    refused = requests.post(new_url, data={"_token": _form_token(new_url), "Name": "No stage",
                                           "StageName": ""}, timeout=10)
    assert refused.status_code == 400
    assert "Required fields are missing:" in refused.text and "StageName" in refused.text
    assert 'name="Name" value="No stage"' in refused.text
    assert len(handle.client.records("demo", "Opportunity")) == count
