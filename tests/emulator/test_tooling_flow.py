"""Tooling API flows: a record-triggered Flow created the way Cothon creates it (one client
call per version, simple-salesforce ``restful``) sends its outbound message when a record
newly meets its entry conditions; versions, activation, queries, deletion and validation answer
in Salesforce's shapes; conditions compare by field type; delivery retries until acked; editions
without flows refuse; a restart keeps the flows."""

from __future__ import annotations

import time

import pytest
import requests

from salesforce_emulator import ids
from tests.emulator.test_outbound import NS, _notifications
from tests.emulator.test_tooling_workflow import (
    MESSAGE,
    _admin_sf,
    _boot,
    _create,
    _refused,
    _session,
    _settle,
    _stop,
    receiver,  # noqa: F401 - the fixture
)

pytestmark = pytest.mark.emulator

FLOW = "tooling/sobjects/Flow"
DEFINITION = "tooling/sobjects/FlowDefinition"
FLOW_NAME = "Cothon_Opportunity_Flow"


def _message(url, name="Cothon_integration", obj="Opportunity",
             fields=("Id", "Name", "StageName", "Amount", "CloseDate", "AccountId")):
    return {"FullName": f"{obj}.{name}", "Metadata": {
        "name": name.replace("_", " "), "endpointUrl": url, "fields": list(fields),
        "includeSessionId": False, "protected": False, "useDeadLetterQueue": False,
        "apiVersion": 62.0}}


def _filter(field, operator, **value):
    return {"field": field, "operator": operator, "value": value}


def _flow(filters=None, *, name=FLOW_NAME, label="Cothon Opportunity Flow", status="Active",
          trigger="Update", changed=True, logic="and", action="Opportunity.Cothon_integration",
          obj="Opportunity"):
    """The body Cothon posts (the contract's example), with the parts a test varies."""
    if filters is None:
        filters = [_filter("StageName", "EqualTo", stringValue="Proposal"),
                   _filter("Amount", "GreaterThan", numberValue=10000)]
    start = {"object": obj, "triggerType": "RecordAfterSave", "recordTriggerType": trigger,
             "doesRequireRecordChangedToMeetCriteria": changed, "filters": filters,
             "connector": {"targetReference": "Send_to_Cothon"}, "locationX": 50,
             "locationY": 0}
    if logic is not None:
        start["filterLogic"] = logic
    return {"FullName": name, "Metadata": {
        "label": label, "processType": "AutoLaunchedFlow", "status": status,
        "apiVersion": 62.0, "description": "Created by Cothon: sends opportunities that reach "
                                           "the quote stage.",
        "start": start,
        "actionCalls": [{"name": "Send_to_Cothon", "label": "Send to Cothon",
                         "actionType": "outboundMessage", "actionName": action,
                         "locationX": 176, "locationY": 134}]}}


def _query(sf, soql):
    return sf.toolingexecute("query/?q=" + requests.utils.quote(soql))


def _versions(sf, name=FLOW_NAME):
    rows = _query(sf, "SELECT Id, VersionNumber, Status, MasterLabel, Definition.DeveloperName "
                      f"FROM Flow WHERE Definition.DeveloperName = '{name}' "
                      "ORDER BY VersionNumber DESC")
    return [(r["VersionNumber"], r["Status"]) for r in rows["records"]]


def _definition(sf, name=FLOW_NAME):
    rows = _query(sf, "SELECT Id, DeveloperName, ActiveVersionId, LatestVersionId FROM "
                      f"FlowDefinition WHERE DeveloperName = '{name}'")
    assert rows["totalSize"] == 1
    return rows["records"][0]


def _queued(handle):
    """(flow label, record id) of every notification queued so far: the delivery log holds
    them from the write's commit on, so this is exact whatever the delivery timing."""
    return [(message["rule"], note["record_id"])
            for message in handle.client._call("GET", "outbound/deliveries")
            for note in message["notifications"]]


def _opp(sf, name, stage="Prospecting", **fields):
    return sf.Opportunity.create({"Name": name, "StageName": stage,
                                  "CloseDate": "2030-01-01", **fields})["id"]


def test_the_contract_flow_sends_on_an_update_that_newly_meets_its_conditions(
        emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    rec = receiver()
    admin = _admin_sf(handle)
    message_id = _create(admin, MESSAGE, _message(rec.url))
    flow_id = _create(admin, FLOW, _flow())
    assert flow_id.startswith("301")
    sf = handle.sf()  # the integration user edits records
    _opp(sf, "Born at stage", stage="Proposal", Amount=50000)  # Update only: never fires
    moving = _opp(sf, "Moves", Amount=50000)
    sf.Opportunity.update(moving, {"StageName": "Proposal"})  # newly meets: fires
    sf.Opportunity.update(moving, {"Amount": 60000})  # still meets: not again
    small = _opp(sf, "Too small", Amount=500)
    sf.Opportunity.update(small, {"StageName": "Proposal"})  # Amount not > 10000
    sf.Opportunity.update(small, {"Amount": 20000})  # now meets both: fires
    assert sorted(_queued(handle)) == sorted([("Cothon Opportunity Flow", moving),
                                              ("Cothon Opportunity Flow", small)])
    assert sorted(_settle(rec, 2)) == ["Moves", "Too small"]
    _root, notes, items = _notifications(rec.bodies[0])
    assert notes.find("o:ActionId", NS).text == message_id
    assert notes.find("o:OrganizationId", NS).text == handle.demo["org_id"]
    sent = [child.tag.split("}")[1] for child in items[0].find("o:sObject", NS)]
    assert sent == ["Id", "Name", "StageName", "Amount", "CloseDate", "AccountId"]
    # what Cothon reads back to decide whether its conditions changed
    got = admin.restful(f"{FLOW}/{flow_id}")
    assert got["FullName"] == FLOW_NAME and got["VersionNumber"] == 1
    assert got["Status"] == "Active" and got["MasterLabel"] == "Cothon Opportunity Flow"
    start = got["Metadata"]["start"]
    assert start["filters"] == _flow()["Metadata"]["start"]["filters"]
    assert start["filterLogic"] == "and" and start["recordTriggerType"] == "Update"
    assert start["doesRequireRecordChangedToMeetCriteria"] is True
    assert got["Metadata"]["actionCalls"][0]["actionName"] == "Opportunity.Cothon_integration"
    assert got["Metadata"]["status"] == "Active"
    definition = _definition(admin)
    assert definition["ActiveVersionId"] == flow_id == definition["LatestVersionId"]
    assert definition["Id"] == got["DefinitionId"] and definition["Id"].startswith("300")
    row = _query(admin, "SELECT Id, VersionNumber, Status, MasterLabel, "
                        "Definition.DeveloperName FROM Flow WHERE Definition.DeveloperName = "
                        f"'{FLOW_NAME}' ORDER BY VersionNumber DESC")["records"][0]
    assert row["Definition"]["DeveloperName"] == FLOW_NAME
    assert row["attributes"]["type"] == "Flow"
    listed = requests.get(f"{handle.http_url}/_emulator/outbound/rules", timeout=30,
                          headers={"X-Emulator-Key": handle.client.admin_key}).json()
    assert [r["name"] for r in listed if r["source"] == "flow"] == ["Cothon Opportunity Flow"]


def test_versions_activation_and_deletion(emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    rec = receiver()
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(rec.url))
    v1 = _create(admin, FLOW, _flow())
    v2 = _create(admin, FLOW, _flow([_filter("StageName", "EqualTo", stringValue="Negotiation")]))
    assert _versions(admin) == [(2, "Active"), (1, "Obsolete")]
    v3 = _create(admin, FLOW, _flow(status="Draft"))
    assert _versions(admin) == [(3, "Draft"), (2, "Active"), (1, "Obsolete")]
    definition = _definition(admin)
    assert definition["ActiveVersionId"] == v2 and definition["LatestVersionId"] == v3
    sf = handle.sf()
    opp = _opp(sf, "Stage watcher", Amount=20000)
    sf.Opportunity.update(opp, {"StageName": "Proposal"})  # v2 wants Negotiation
    sf.Opportunity.update(opp, {"StageName": "Negotiation"})  # v2 fires
    assert _queued(handle) == [("Cothon Opportunity Flow", opp)]
    assert _settle(rec, 1) == ["Stage watcher"]
    # activate version 3 (the contract's conditions) through the FlowDefinition
    path = f"{DEFINITION}/{definition['Id']}"
    assert admin.restful(path, method="PATCH", json={"Metadata": {"activeVersionNumber": 3}}) \
        is None
    assert _versions(admin) == [(3, "Active"), (2, "Obsolete"), (1, "Obsolete")]
    assert admin.restful(path)["Metadata"]["activeVersionNumber"] == 3
    sf.Opportunity.update(opp, {"StageName": "Proposal"})  # v3 fires
    assert _settle(rec, 2) == ["Stage watcher", "Stage watcher"]
    # an active version cannot be deleted; an obsolete one can
    refused = _refused(admin, f"{FLOW}/{v3}", None, method="DELETE")
    assert refused["errorCode"] == "DELETE_FAILED"
    assert admin.restful(f"{FLOW}/{v1}", method="DELETE") is None
    assert _versions(admin) == [(3, "Active"), (2, "Obsolete")]
    # the message cannot be deleted while a flow sends it
    message_id = _query(admin, "SELECT Id FROM WorkflowOutboundMessage WHERE "
                               "Name = 'Cothon_integration'")["records"][0]["Id"]
    in_use = _refused(admin, f"{MESSAGE}/{message_id}", None, method="DELETE")
    assert in_use["errorCode"] == "DELETE_FAILED" and "Cothon Opportunity Flow" in \
        in_use["message"]
    # deactivated: nothing is sent, and the versions can go
    admin.restful(path, method="PATCH", json={"Metadata": {"activeVersionNumber": 0}})
    assert _versions(admin) == [(3, "Obsolete"), (2, "Obsolete")]
    assert admin.restful(path)["Metadata"]["activeVersionNumber"] is None
    sf.Opportunity.update(opp, {"StageName": "Prospecting"})
    sf.Opportunity.update(opp, {"StageName": "Proposal"})
    assert len(_queued(handle)) == 2  # the two sent before
    for bad in (7, -1, "3", None):
        body = {"Metadata": {"activeVersionNumber": bad}} if bad is not None else {}
        assert _refused(admin, path, body, method="PATCH")["errorCode"] == \
            "FIELD_INTEGRITY_EXCEPTION", bad
    assert _versions(admin) == [(3, "Obsolete"), (2, "Obsolete")]  # nothing changed
    admin.restful(f"{FLOW}/{v2}", method="DELETE")
    admin.restful(f"{FLOW}/{v3}", method="DELETE")  # the last version takes the flow along
    assert _query(admin, "SELECT Id FROM FlowDefinition")["totalSize"] == 0
    with pytest.raises(Exception) as info:
        admin.restful(f"{FLOW}/{v3}")
    assert "NOT_FOUND" in str(info.value)


def test_numbering_continues_after_a_deleted_version_and_drafts_can_be_edited(
        emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(receiver().url))
    _create(admin, FLOW, _flow())
    draft = _create(admin, FLOW, _flow(status="Draft"))
    admin.restful(f"{FLOW}/{draft}", method="DELETE")
    again = _create(admin, FLOW, _flow(status="Draft"))
    assert _versions(admin) == [(3, "Draft"), (1, "Active")]
    edited = _flow([_filter("Amount", "GreaterThan", numberValue=5)], status="Active")
    admin.restful(f"{FLOW}/{again}", method="PATCH", json={"Metadata": edited["Metadata"]})
    assert _versions(admin) == [(3, "Active"), (1, "Obsolete")]
    assert admin.restful(f"{FLOW}/{again}")["Metadata"]["start"]["filters"] == \
        [_filter("Amount", "GreaterThan", numberValue=5)]
    refused = _refused(admin, f"{FLOW}/{again}", {"Metadata": edited["Metadata"]},
                       method="PATCH")  # no longer a draft
    assert refused["errorCode"] == "FIELD_INTEGRITY_EXCEPTION" and "Draft" in \
        refused["message"]
    with pytest.raises(Exception) as info:  # Metadata over several rows, as on a real org
        _query(admin, "SELECT Id, Metadata FROM Flow")
    assert "MALFORMED_QUERY" in str(info.value)


OPERATOR_CASES = {
    # label: (filter, names of the created records that meet it)
    "text equal": (_filter("Cothon_Ref__c", "EqualTo", stringValue="CT-9"), {"nine"}),
    "text equal is case-sensitive": (_filter("Cothon_Ref__c", "EqualTo", stringValue="ct-9"),
                                     set()),
    "text not equal": (_filter("Cothon_Ref__c", "NotEqualTo", stringValue="CT-9"),
                       {"ten", "blank"}),
    # as text "CT-9" > "CT-10" (9 sorts after 1); as numbers 9 < 10
    "text greater": (_filter("Cothon_Ref__c", "GreaterThan", stringValue="CT-10"), {"nine"}),
    "text less or equal": (_filter("Cothon_Ref__c", "LessThanOrEqualTo",
                                   stringValue="CT-10"), {"ten"}),
    "number greater": (_filter("Amount", "GreaterThan", numberValue=9), {"ten"}),
    "number less": (_filter("Amount", "LessThan", numberValue=10), {"nine"}),
    "number greater or equal": (_filter("Amount", "GreaterThanOrEqualTo", numberValue=10),
                                {"ten"}),
    "number less or equal": (_filter("Amount", "LessThanOrEqualTo", numberValue=10),
                             {"nine", "ten"}),
    "number equal": (_filter("Amount", "EqualTo", numberValue=9.0), {"nine"}),
    "number not equal": (_filter("Amount", "NotEqualTo", numberValue=9), {"ten", "blank"}),
    "date after": (_filter("CloseDate", "GreaterThan", stringValue="2030-06-01"), {"ten"}),
    "checkbox": (_filter("IsPrivate", "EqualTo", booleanValue=True), {"nine"}),
    "is null": (_filter("Cothon_Ref__c", "IsNull", booleanValue=True), {"blank"}),
    "contains": (_filter("Name", "Contains", stringValue="e"), {"nine", "ten"}),
    "starts with": (_filter("Name", "StartsWith", stringValue="bl"), {"blank"}),
}


def test_each_operator_compares_by_the_field_type(emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(receiver().url))
    for index, (label, (condition, _meets)) in enumerate(OPERATOR_CASES.items()):
        _create(admin, FLOW, _flow([condition], name=f"Case_{index}", label=label,
                                   trigger="Create", changed=False))
    either = _flow([_filter("Amount", "LessThan", numberValue=10),
                    _filter("Cothon_Ref__c", "IsNull", booleanValue=True)],
                   name="Either", label="either", trigger="Create", changed=False, logic="or")
    _create(admin, FLOW, either)
    custom = _flow([_filter("Amount", "GreaterThan", numberValue=1),
                    _filter("Cothon_Ref__c", "EqualTo", stringValue="CT-10"),
                    _filter("IsPrivate", "EqualTo", booleanValue=True)],
                   name="Custom", label="1 and (2 or 3)", trigger="Create", changed=False,
                   logic="1 AND (2 OR 3)")
    _create(admin, FLOW, custom)
    sf = handle.sf()
    made = {"nine": _opp(sf, "nine", Amount=9, Cothon_Ref__c="CT-9", IsPrivate=True),
            "ten": _opp(sf, "ten", Amount=10, Cothon_Ref__c="CT-10",
                        CloseDate="2030-12-31"),
            "blank": _opp(sf, "blank")}
    names = {rid: name for name, rid in made.items()}
    fired: dict[str, set[str]] = {}
    for label, record_id in _queued(handle):
        fired.setdefault(label, set()).add(names[record_id])
    expected = {label: meets for label, (_c, meets) in OPERATOR_CASES.items() if meets}
    expected["either"] = {"nine", "blank"}
    expected["1 and (2 or 3)"] = {"nine", "ten"}
    assert fired == expected


def test_trigger_types_and_changed_to_meet_criteria(emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(receiver().url))
    at_stage = [_filter("StageName", "EqualTo", stringValue="Proposal")]
    for name, trigger, changed in (("On_create", "Create", False),
                                   ("Every_update", "Update", False),
                                   ("Newly_met_update", "Update", True),
                                   ("Create_and_every_update", "CreateAndUpdate", False),
                                   ("Create_and_newly_met", "CreateAndUpdate", True)):
        _create(admin, FLOW, _flow(at_stage, name=name, label=name, trigger=trigger,
                                   changed=changed))
    sf = handle.sf()
    born = _opp(sf, "born", stage="Proposal")
    sf.Opportunity.update(born, {"Amount": 1})  # an edit that keeps meeting the conditions
    moved = _opp(sf, "moved")
    sf.Opportunity.update(moved, {"StageName": "Proposal"})  # newly meets
    sf.Opportunity.update(moved, {"Amount": 2})  # keeps meeting
    names = {born: "born", moved: "moved"}
    fired: dict[str, list[str]] = {}
    for label, record_id in _queued(handle):
        fired.setdefault(label, []).append(names[record_id])
    assert {k: sorted(v) for k, v in fired.items()} == {
        "On_create": ["born"],
        "Every_update": ["born", "moved", "moved"],
        "Newly_met_update": ["moved"],
        "Create_and_every_update": ["born", "born", "moved", "moved"],
        "Create_and_newly_met": ["born", "moved"],
    }


def test_delivery_retries_until_acked(emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    rec = receiver(script=[500, 503])
    handle.client._call("POST", "outbound/settings",
                        json={"retry_base_seconds": 0.2, "retry_max_seconds": 1})
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(rec.url))
    _create(admin, FLOW, _flow())
    sf = handle.sf()
    opp = _opp(sf, "Retried", Amount=20000)
    sf.Opportunity.update(opp, {"StageName": "Proposal"})
    deadline = time.time() + 20
    while time.time() < deadline:
        log = handle.client._call("GET", "outbound/deliveries")
        if log and log[0]["status"] == "delivered":
            break
        time.sleep(0.1)
    assert log[0]["status"] == "delivered" and log[0]["rule"] == "Cothon Opportunity Flow"
    assert [a["status"] for a in log[0]["attempts"]] == [500, 503, 200]
    note_ids = {_notifications(b)[2][0].find("o:Id", NS).text for b in rec.bodies}
    assert len(rec.bodies) == 3 and len(note_ids) == 1  # the same notification each time


def test_bad_flows_are_refused_and_nothing_is_saved(emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(receiver().url))
    _create(admin, MESSAGE, _message(receiver().url, name="Account_message", obj="Account",
                                    fields=["Name"]))
    good = _flow()

    def variant(**changes):
        body = _flow()
        for path, value in changes.items():
            target = body["Metadata"]
            *parents, last = path.split("__")
            for part in parents:
                target = target[part]
            target[last] = value
        return body

    cases = {
        "unknown field": _flow([_filter("Nope__c", "EqualTo", stringValue="x")]),
        "field of a parent": _flow([_filter("Account.Name", "EqualTo", stringValue="x")]),
        "unknown operator": _flow([_filter("StageName", "Within", stringValue="x")]),
        "text value for a number": _flow([_filter("Amount", "GreaterThan",
                                                  stringValue="10000")]),
        "number value for text": _flow([_filter("StageName", "EqualTo", numberValue=1)]),
        "not a date": _flow([_filter("CloseDate", "EqualTo", stringValue="soon")]),
        "ordering a checkbox": _flow([_filter("IsPrivate", "GreaterThan",
                                              booleanValue=True)]),
        "two values": _flow([_filter("Amount", "EqualTo", numberValue=1, stringValue="1")]),
        "bad custom logic": _flow(logic="1 AND 3"),
        "unknown object": variant(start__object="Nope__c"),
        "delete trigger": variant(start__recordTriggerType="Delete"),
        "before save": variant(start__triggerType="RecordBeforeSave"),
        "screen flow": variant(processType="Flow"),
        "obsolete status": variant(status="Obsolete"),
        "no label": variant(label=""),
        "missing message": _flow(action="Opportunity.Nope"),
        "message of another object": _flow(action="Account.Account_message"),
        "other action type": variant(actionCalls=[{**good["Metadata"]["actionCalls"][0],
                                                   "actionType": "emailAlert"}]),
        "connector to nothing": variant(start__connector={"targetReference": "Elsewhere"}),
        "decisions": variant(decisions=[{"name": "Check"}]),
        "formula conditions": variant(start__filterFormula="{!$Record.Amount} > 5"),
        "variable value": _flow([_filter("StageName", "EqualTo",
                                         elementReference="$Record__Prior.StageName")]),
        "changed needs filters": _flow([], changed=True, logic=None),
        "bad name": {**good, "FullName": "two__underscores"},
        "no metadata": {"FullName": FLOW_NAME},
    }
    for label, body in cases.items():
        refused = _refused(admin, FLOW, body)
        assert refused["errorCode"] == "FIELD_INTEGRITY_EXCEPTION", (label, refused)
        assert refused["message"], label
    assert "Nope__c" in _refused(admin, FLOW, cases["unknown field"])["message"]
    assert _query(admin, "SELECT Id FROM Flow")["totalSize"] == 0
    assert _query(admin, "SELECT Id FROM FlowDefinition")["totalSize"] == 0
    assert _refused(admin, f"{FLOW}/not-an-id", None, method="GET")["errorCode"] == \
        "MALFORMED_ID"
    with pytest.raises(Exception) as info:
        admin.restful(f"{FLOW}/{ids.to_18('3015g0FD0000099')}")
    assert "NOT_FOUND" in str(info.value)


def test_editions_without_flows_refuse_them(emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(receiver().url))
    flow_id = _create(admin, FLOW, _flow())
    for edition in ("Essentials Edition", "Base Edition", "Team Edition", "Personal Edition",
                    "Contact Manager Edition", "Group Edition", "Free Edition"):
        assert handle.client.set_edition(edition)["edition"] == edition
        org = handle.sf().query("SELECT OrganizationType FROM Organization")["records"][0]
        assert org["OrganizationType"] == edition
        for path, body in ((FLOW, _flow()), (MESSAGE, _message("http://127.0.0.1:9/x",
                                                               name="Other"))):
            refused = _refused(admin, path, body)
            assert refused["errorCode"] == "FUNCTIONALITY_NOT_ENABLED", edition
            assert edition in refused["message"] and "Enterprise" in refused["message"]
        with pytest.raises(Exception) as info:
            _query(admin, "SELECT Id FROM Flow")
        assert "INVALID_TYPE" in str(info.value)
    describe = handle.sf().Organization.describe()
    values = next(f["picklistValues"] for f in describe["fields"]
                  if f["name"] == "OrganizationType")
    assert {"Performance Edition", "Free Edition", "Contact Manager Edition"} <= \
        {v["value"] for v in values}
    for edition in ("Professional Edition", "Performance Edition", "Unlimited Edition",
                    "Enterprise Edition", "Developer Edition"):
        handle.client.set_edition(edition)
        assert admin.restful(f"{FLOW}/{flow_id}")["Status"] == "Active", edition
    refused = requests.post(f"{handle.http_url}/_emulator/edition", timeout=30,
                            headers={"X-Emulator-Key": handle.client.admin_key},
                            json={"edition": "Platinum Edition"})
    assert refused.status_code == 400 and "Platinum Edition" in refused.json()["error"]
    handle.client.set_edition("Essentials Edition")
    handle.client.reset()  # back to the org definition's edition
    assert handle.client.edition()["edition"] == "Developer Edition"
    org = handle.sf().query("SELECT OrganizationType FROM Organization")["records"][0]
    assert org["OrganizationType"] == "Developer Edition"


def test_a_restart_keeps_flows_and_the_edition(tmp_path, receiver):  # noqa: F811
    rec = receiver()
    process, client = _boot(tmp_path)
    try:
        session, api, _creds = _session(client)
        assert session.post(f"{api}/{MESSAGE}", json=_message(rec.url)).status_code == 201
        assert session.post(f"{api}/{FLOW}", json=_flow()).status_code == 201
        client.set_edition("Performance Edition")
    finally:
        _stop(process)
    process, client = _boot(tmp_path)
    try:
        session, api, _creds = _session(client)
        assert client.edition()["edition"] == "Performance Edition"
        made = session.post(f"{api}/sobjects/Opportunity", json={
            "Name": "After restart", "StageName": "Prospecting", "CloseDate": "2030-01-01",
            "Amount": 20000})
        assert made.status_code == 201, made.text
        moved = session.patch(f"{api}/sobjects/Opportunity/{made.json()['id']}",
                              json={"StageName": "Proposal"})
        assert moved.status_code == 204, moved.text
        assert _settle(rec, 1) == ["After restart"]
        rows = session.get(f"{api}/tooling/query", params={
            "q": "SELECT Id, VersionNumber, Status FROM Flow"}).json()
        assert [(r["VersionNumber"], r["Status"]) for r in rows["records"]] == [(1, "Active")]
        client.reset()
        assert client.edition()["edition"] == "Developer Edition"
        rows = session.get(f"{api}/tooling/query",
                           params={"q": "SELECT Id FROM FlowDefinition"}).json()
        assert rows["totalSize"] == 0
    finally:
        _stop(process)


def test_tooling_query_forms(emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(receiver().url))
    v1 = _create(admin, FLOW, _flow())
    v2 = _create(admin, FLOW, _flow(status="Draft"))
    definition = _definition(admin)
    rows = _query(admin, "SELECT Id, DeveloperName, ActiveVersion.VersionNumber, "
                         "LatestVersion.Status FROM FlowDefinition WHERE "
                         f"DeveloperName = '{FLOW_NAME}'")["records"]
    assert rows[0]["ActiveVersion"]["VersionNumber"] == 1
    assert rows[0]["LatestVersion"]["Status"] == "Draft"
    one = _query(admin, f"SELECT Id, FullName, Metadata FROM Flow WHERE Id = '{v2[:15]}'")
    assert one["records"][0]["Metadata"]["status"] == "Draft"
    assert one["records"][0]["FullName"] == FLOW_NAME
    active = _query(admin, "SELECT Id FROM Flow WHERE Status = 'Active' AND "
                           f"DefinitionId = '{definition['Id']}'")
    assert [r["Id"] for r in active["records"]] == [v1]
    meta = _query(admin, "SELECT Metadata FROM FlowDefinition WHERE "
                         f"Id = '{definition['Id']}'")["records"][0]["Metadata"]
    assert meta == {"activeVersionNumber": 1, "description": None,
                    "masterLabel": "Cothon Opportunity Flow"}
    with pytest.raises(Exception) as info:  # as on a real org: Metadata is not filterable
        _query(admin, "SELECT Id FROM Flow WHERE FullName = 'Cothon_Opportunity_Flow'")
    assert "INVALID_FIELD" in str(info.value)
    assert _query(admin, "SELECT COUNT() FROM Flow WHERE Definition.DeveloperName = "
                         f"'{FLOW_NAME}'")["totalSize"] == 2


def test_collections_and_composite_writes_run_flows(emulator_reset, receiver):  # noqa: F811
    handle = emulator_reset
    rec = receiver()
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message(rec.url))
    _create(admin, FLOW, _flow())
    sf = handle.sf()
    first, second = _opp(sf, "By collection", Amount=20000), _opp(sf, "By composite",
                                                                     Amount=20000)
    result = sf.restful("composite/sobjects", method="PATCH", json={
        "allOrNone": True, "records": [{"attributes": {"type": "Opportunity"}, "id": first,
                                        "StageName": "Proposal"}]})
    assert result[0]["success"] is True
    sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "PATCH", "url": f"/services/data/v59.0/sobjects/Opportunity/{second}",
         "referenceId": "move", "body": {"StageName": "Proposal"}}]})
    assert sorted(_settle(rec, 2)) == ["By collection", "By composite"]
