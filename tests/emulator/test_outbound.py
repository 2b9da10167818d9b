"""Outbound Messages: rules from the test hook fire on DML (REST, collections, Bulk), SOAP
notifications reach a local receiver, retries until an ack, and the delivery log."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.emulator

ACK = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
       '"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse '
       'xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
       '</soapenv:Body></soapenv:Envelope>')
NS = {"soap": "http://schemas.xmlsoap.org/soap/envelope/",
      "o": "http://soap.sforce.com/2005/09/outbound",
      "sf": "urn:sobject.enterprise.soap.sforce.com",
      "xsi": "http://www.w3.org/2001/XMLSchema-instance"}


class Receiver:
    """A threaded SOAP endpoint on 127.0.0.1:0; `script` holds statuses to answer in turn."""

    def __init__(self, script=None):
        self.bodies: list[bytes] = []
        self.script = list(script or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(body)
                status = receiver.script.pop(0) if receiver.script else 200
                answer = ACK if status == 200 else "<error>try later</error>"
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/outbound"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, count, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.bodies) < count:
            time.sleep(0.05)
        return self.bodies


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


def _hook(handle, method, path, **kwargs):
    response = handle.client.session.request(
        method, f"{handle.http_url}/_emulator/outbound/{path}", timeout=30, **kwargs)
    return response


def _rule(handle, url, **extra):
    spec = {"org": "demo", "name": "Reached proposal", "object": "Opportunity",
            "criteria": {"field": "StageName", "value": "Proposal"},
            "evaluation": "edit_to_meet_criteria", "endpoint_url": url,
            "fields": ["Name", "StageName", "Amount", "Cothon_Ref__c", "IsWon", "CloseDate"],
            **extra}
    response = _hook(handle, "POST", "rules", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def _deliveries(handle, expect_status=None, count=1, timeout=15):
    deadline = time.time() + timeout
    while True:
        log = _hook(handle, "GET", "deliveries").json()
        done = [m for m in log if expect_status is None or m["status"] == expect_status]
        if len(done) >= count or time.time() > deadline:
            return log
        time.sleep(0.05)


def _notifications(body):
    root = ET.fromstring(body)
    notes = root.find("soap:Body/o:notifications", NS)
    return root, notes, notes.findall("o:Notification", NS)


def test_fires_on_update_to_stage_not_on_create_at_stage(emulator_reset, receiver):
    handle = emulator_reset
    rec = receiver()
    rule = _rule(handle, rec.url)
    assert rule["action_id"].startswith("04k")
    sf = handle.sf()
    at_stage = sf.Opportunity.create({"Name": "Born at stage", "StageName": "Proposal",
                                      "CloseDate": "2030-01-01"})
    moving = sf.Opportunity.create({"Name": "Moves", "StageName": "Prospecting",
                                    "CloseDate": "2030-01-01", "Amount": 1200.5,
                                    "Cothon_Ref__c": "OB-1"})
    sf.Opportunity.update(moving["id"], {"StageName": "Proposal"})
    sf.Opportunity.update(moving["id"], {"Amount": 1300})  # still at stage: no new message
    sf.Opportunity.update(at_stage["id"], {"Amount": 5})  # was already at stage: no message
    bodies = rec.wait(1)
    time.sleep(0.5)
    assert len(rec.bodies) == 1
    root, notes, items = _notifications(bodies[0])
    assert notes.find("o:OrganizationId", NS).text == handle.demo["org_id"]
    assert notes.find("o:ActionId", NS).text == rule["action_id"]
    assert notes.find("o:SessionId", NS).get(f"{{{NS['xsi']}}}nil") == "true"
    assert notes.find("o:EnterpriseUrl", NS).text.startswith(f"{handle.instance_url}/services/Soap/c/")
    assert notes.find("o:PartnerUrl", NS).text.startswith(f"{handle.instance_url}/services/Soap/u/")
    assert len(items) == 1
    assert items[0].find("o:Id", NS).text.startswith("04l")
    sobject = items[0].find("o:sObject", NS)
    assert sobject.get(f"{{{NS['xsi']}}}type") == "sf:Opportunity"
    values = {child.tag.split("}")[1]: child.text for child in sobject}
    assert list(values)[0] == "Id" and values["Id"] == moving["id"]
    assert values["StageName"] == "Proposal" and values["Cothon_Ref__c"] == "OB-1"
    # field values are read when the message is sent (as Salesforce does)
    assert values["IsWon"] == "false" and float(values["Amount"]) in (1200.5, 1300.0)
    log = _deliveries(handle, "delivered")
    assert log[0]["status"] == "delivered" and log[0]["attempts"][0]["status"] == 200
    assert log[0]["notifications"][0]["record_id"] == moving["id"]


def test_created_modes_and_conditions(emulator_reset, receiver):
    handle = emulator_reset
    rec = receiver()
    _rule(handle, rec.url, evaluation="created_and_edit_to_meet_criteria",
          conditions=[{"field": "Amount", "op": ">=", "value": 1000}])
    sf = handle.sf()
    sf.Opportunity.create({"Name": "Small", "StageName": "Proposal", "CloseDate": "2030-01-01",
                           "Amount": 10})
    big = sf.Opportunity.create({"Name": "Big", "StageName": "Proposal",
                                 "CloseDate": "2030-01-01", "Amount": 5000})
    bodies = rec.wait(1)
    time.sleep(0.3)
    assert len(bodies) == 1
    _root, _notes, items = _notifications(bodies[0])
    assert items[0].find("o:sObject/sf:Id", NS).text == big["id"]


def test_every_dml_path_and_batching(emulator_reset, receiver):
    handle = emulator_reset
    rec = receiver()
    _rule(handle, rec.url, evaluation="created_and_every_edit", session=True)
    session = handle.session()
    api = handle.api()
    records = [{"attributes": {"type": "Opportunity"}, "Name": f"Coll {i}",
                "StageName": "Proposal", "CloseDate": "2030-01-01"} for i in range(3)]
    assert all(r["success"] for r in session.post(f"{api}/composite/sobjects",
                                                  json={"records": records}).json())
    # an allOrNone batch that rolls back sends nothing
    rolled = session.post(f"{api}/composite/sobjects", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Opportunity"}, "Name": "Rolled", "StageName": "Proposal",
         "CloseDate": "2030-01-01"},
        {"attributes": {"type": "Opportunity"}, "Name": "Broken", "StageName": "Proposal"}]})
    assert not any(r["success"] for r in rolled.json())
    # Bulk 2.0
    job = session.post(f"{api}/jobs/ingest", json={"object": "Opportunity",
                                                   "operation": "insert"}).json()
    session.put(f"{api}/jobs/ingest/{job['id']}/batches", headers={"Content-Type": "text/csv"},
                data=b"Name,StageName,CloseDate\nBulk 1,Proposal,2030-01-01\n"
                     b"Bulk 2,Proposal,2030-01-01\n")
    session.patch(f"{api}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    deadline = time.time() + 15
    names = set()
    while time.time() < deadline and len(names) < 5:
        names = set()
        for body in list(rec.bodies):
            for item in _notifications(body)[2]:
                names.add(item.find("o:sObject/sf:Name", NS).text)
        time.sleep(0.05)
    assert names == {"Coll 0", "Coll 1", "Coll 2", "Bulk 1", "Bulk 2"}
    # the three collection records travel in one message (1-100 notifications each)
    _root, notes, items = _notifications(rec.bodies[0])
    assert len(items) == 3
    session_id = notes.find("o:SessionId", NS).text
    assert session_id and session_id.startswith("00D")
    check = handle.session(token=session_id).get(f"{api}/limits")
    assert check.status_code == 200  # a working session of the rule's user


def test_retries_until_ack_and_log(emulator_reset, receiver):
    handle = emulator_reset
    rec = receiver(script=[500, 503])
    _hook(handle, "POST", "settings", json={"retry_base_seconds": 0.2, "retry_max_seconds": 1})
    _rule(handle, rec.url)
    sf = handle.sf()
    opp = sf.Opportunity.create({"Name": "Retry me", "StageName": "Prospecting",
                                 "CloseDate": "2030-01-01"})
    sf.Opportunity.update(opp["id"], {"StageName": "Proposal"})
    log = _deliveries(handle, "delivered", timeout=20)
    message = log[0]
    assert message["status"] == "delivered"
    assert [a["status"] for a in message["attempts"]] == [500, 503, 200]
    assert [a["ok"] for a in message["attempts"]] == [False, False, True]
    assert "try later" in message["attempts"][0]["response"]
    assert len(rec.bodies) == 3
    # the same notification id on every retry (receivers are idempotent on it)
    ids = {_notifications(b)[2][0].find("o:Id", NS).text for b in rec.bodies}
    assert len(ids) == 1
    cleared = _hook(handle, "DELETE", "deliveries").json()
    assert cleared["cleared"] == 1 and _hook(handle, "GET", "deliveries").json() == []


def test_gives_up_after_24_hours_and_refuses_remote_endpoints(emulator_reset, receiver):
    handle = emulator_reset
    rec = receiver(script=[500] * 50)
    _hook(handle, "POST", "settings", json={"retry_base_seconds": 3600,
                                           "retry_max_seconds": 7200})
    _rule(handle, rec.url)
    sf = handle.sf()
    opp = sf.Opportunity.create({"Name": "Never acked", "StageName": "Prospecting",
                                 "CloseDate": "2030-01-01"})
    sf.Opportunity.update(opp["id"], {"StageName": "Proposal"})
    rec.wait(1)
    for _ in range(16):
        handle.client.advance_clock(7200)
        _hook(handle, "POST", "flush")
        time.sleep(0.15)
    log = _deliveries(handle, "failed", timeout=10)
    assert log[0]["status"] == "failed"
    assert 2 <= len(log[0]["attempts"]) <= 14
    remote = _hook(handle, "POST", "rules", json={
        "object": "Opportunity", "criteria": {"field": "StageName", "value": "Proposal"},
        "endpoint_url": "https://example.com/outbound"})
    assert remote.status_code == 400 and "loopback" in remote.json()["error"]
    bad_field = _hook(handle, "POST", "rules", json={
        "object": "Opportunity", "criteria": {"field": "Nope__c", "value": 1},
        "endpoint_url": rec.url})
    assert bad_field.status_code == 400
    listed = _hook(handle, "GET", "rules").json()
    assert any(r["name"] == "Cothon opportunity reached Proposal" and r["active"] is False
               for r in listed)  # the demo org's (inactive) rule
    assert _hook(handle, "DELETE", "rules").json()["removed"] == 1
