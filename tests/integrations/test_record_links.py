"""“Open in Salesforce” lands on the record, not on a certificate warning."""

import requests

from integrations import connections as svc
from integrations.models import Environment, SalesforceConnection
from sync_engine.models import RecordType, SyncLink


def test_a_demo_connection_opens_records_in_the_emulators_plain_http_viewer(alice, emulator_reset, monkeypatch):
    """The demo stores the emulator's HTTP port as the login URL and gets its HTTPS port (a
    self-signed certificate) as the instance URL: links go to the HTTP viewer."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # as `make run` sets it for the demo
    creds = emulator_reset.demo
    connection = svc.connection_create(
        tenant=alice.tenant, name="Demo org", environment=Environment.CUSTOM, login_url=emulator_reset.http_url,
        client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle,
        actor=alice.admin)
    connection = svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)
    assert connection.instance_url.startswith("https://")
    account_id = emulator_reset.sf().Account.create({"Name": "Shared Services Canada"})["id"]
    link = SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type=RecordType.DEPARTMENT,
                                   record_id=1, sobject="Account", salesforce_id=account_id, status="synced")

    url = link.salesforce_url
    assert url == f"{emulator_reset.http_url.rstrip('/')}/lightning/r/Account/{account_id}/view"
    # A browser with no knowledge of the emulator's CA opens it.
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    assert "Shared Services Canada" in page.text


def test_a_real_org_opens_records_on_its_instance(alice):
    connection = SalesforceConnection.objects.create(
        tenant=alice.tenant, name="Prod", login_url="https://login.salesforce.com",
        instance_url="https://alice.my.salesforce.com", status="connected")
    assert connection.record_url("Opportunity", "006000000000001AAA") == \
        "https://alice.my.salesforce.com/lightning/r/Opportunity/006000000000001AAA/view"
    # An http login URL elsewhere than loopback never downgrades the link.
    connection.login_url = "http://login.example.com"
    assert connection.record_url("Account", "001000000000001AAA").startswith("https://alice.my.salesforce.com/")
