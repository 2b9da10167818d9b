"""The flow Cothon creates really works in the org: an opportunity changed to the trigger stage
while meeting the conditions makes Salesforce post the outbound message, with the base, mapped
and condition fields, to this connection's quote receiver; one created at the stage or below the
amount does not (that is what Synchronize now is for)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from defusedxml import ElementTree
from django.conf import settings as django_settings

from sync_engine.quotes import settings_services

pytestmark = pytest.mark.django_db

ACK = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
       '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
       '</notificationsResponse></soapenv:Body></soapenv:Envelope>').encode()
NS = {"o": "http://soap.sforce.com/2005/09/outbound", "sf": "urn:sobject.enterprise.soap.sforce.com"}


@pytest.fixture
def cothon_receiver(settings):
    """A stand-in Cothon at COTHON_BASE_URL that records what Salesforce posts (path, body)."""
    posts: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posts.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(ACK)))
            self.end_headers()
            self.wfile.write(ACK)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.COTHON_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    yield posts
    server.shutdown()
    server.server_close()


def test_only_an_opportunity_changed_to_the_stage_and_meeting_the_conditions_is_sent(alice, connected, emulator_reset,
                                                                                     cothon_receiver):
    saved = settings_services.quote_settings_save(tenant=alice.tenant, connection=connected, actor=alice.admin, data={
        "opportunity_to_quote": True, "trigger_stage": "Proposal", "owner_id": alice.member.pk,
        "conditions": [{"field": "Amount", "operator": ">", "value": "10000"}],
        "field_mappings": [{"sf_field": "NextStep", "target": "notes"}]})
    assert saved.automation["state"] == "ok", saved.automation
    sf = emulator_reset.sf()
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]

    def opportunity(name: str, stage: str, amount: int) -> str:
        return sf.Opportunity.create({"Name": name, "StageName": stage, "CloseDate": "2031-05-14", "Amount": amount,
                                      "AccountId": account, "NextStep": f"Price {name}"})["id"]

    opportunity("Created at the stage", "Proposal", 50000)  # never fires: Synchronize now's case
    small = opportunity("Too small", "Qualification", 5000)
    sf.Opportunity.update(small, {"StageName": "Proposal"})
    big = opportunity("Roof replacement, Gatineau", "Qualification", 50000)
    sf.Opportunity.update(big, {"NextStep": "Site visit"})  # not the stage yet
    sf.Opportunity.update(big, {"StageName": "Proposal"})

    deadline = time.time() + 30
    while not cothon_receiver and time.time() < deadline:
        time.sleep(0.05)
    # Everything the org queued (flows run at the save): the one message, nothing for the others.
    queued = emulator_reset.client.session.get(f"{emulator_reset.http_url}/_emulator/outbound/deliveries",
                                               params={"org": "demo"}, timeout=30).json()
    assert len(queued) == 1 and len(cothon_receiver) == 1, (queued, cothon_receiver)
    path, body = cothon_receiver[0]
    assert django_settings.COTHON_BASE_URL + path == saved.automation["message"]["endpoint_url"]
    assert path.startswith("/integrations/salesforce/quotes/")
    sobject = ElementTree.fromstring(body).find(".//o:Notification/o:sObject", NS)
    values = {child.tag.split("}")[1]: child.text for child in sobject}
    assert values["Id"][:15] == big[:15] and values["Name"] == "Roof replacement, Gatineau"
    assert values["StageName"] == "Proposal" and float(values["Amount"]) == 50000 and values["NextStep"] == "Site visit"
    assert {"CloseDate", "AccountId"} <= set(values)
