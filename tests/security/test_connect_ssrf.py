"""The Connect form must not be a way to make the server call anything but Salesforce.

Every sign-in path is covered: OAuth web server (the code exchange and the instance URL it
returns), client credentials, the OAuth password grant and the SOAP login. Local servers stand
in for an internal service; they record whether anything reached them."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from integrations.models import SalesforceConnection
from integrations.salesforce import hosts

pytestmark = pytest.mark.django_db

INTERNAL_PAGE = "<html><h1>Internal admin console</h1><p>db-password=hunter2 SECRET-INTERNAL-TEXT</p></html>"


@pytest.fixture(autouse=True)
def _http_ok(monkeypatch, settings, client):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    settings.SALESFORCE_HTTP_TIMEOUT = 3
    settings.COTHON_SALESFORCE_HOST_ALLOWLIST = []
    client.defaults["HTTP_HOST"] = "127.0.0.1:8000"


def _form(login_url: str, method: str = "client_credentials", **extra) -> dict:
    data = {"name": "Target", "environment": "custom", "login_url": login_url, "auth_method": method,
            "client_id": "app-id", "client_secret": "app-secret", "username": "u@example.com", "password": "typed-pw-123"}
    data.update(extra)
    return data


def _page(response) -> str:
    return response.content.decode()


# --- which hosts may be called ------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://login.salesforce.com", "https://test.salesforce.com", "https://acme.my.salesforce.com",
    "https://acme--uat.sandbox.my.salesforce.com", "https://na85.salesforce.com", "https://acme.lightning.force.com",
    "https://acme.my.salesforce.mil", "https://acme.cloudforce.com", "https://acme.my.salesforce-setup.com",
    "https://acme.my.salesforce-sites.com", "https://acme.my.site.com", "https://ACME.My.Salesforce.com/",
])
def test_salesforce_domains_over_https_are_accepted(url, settings):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = False
    assert hosts.problem(url) is None


@pytest.mark.parametrize("url", [
    "https://evil.example.com", "https://salesforce.com.evil.example", "https://evilsalesforce.com", "https://salesforce.com",
    "http://acme.my.salesforce.com", "https://acme.my.salesforce.com:8443", "https://user:pw@acme.my.salesforce.com",
    "https://10.0.0.5", "https://169.254.169.254", "https://[fd00::1]", "https://192.168.1.10:8443",
    "https://127.0.0.1", "http://127.0.0.1:8080", "https://localhost:6379", "http://[::1]:5432", "ftp://acme.my.salesforce.com",
    "acme.my.salesforce.com", "https://",
])
def test_other_hosts_private_addresses_and_loopback_are_refused(url, settings):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = False
    assert hosts.problem(url)


def test_loopback_is_accepted_only_with_the_demo_flag(settings):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    assert hosts.problem("http://127.0.0.1:8080") is None and hosts.problem("https://localhost:8443") is None
    assert hosts.problem("https://10.0.0.5")  # the flag is about loopback only


def test_the_operator_allow_list_admits_named_hosts_and_suffixes(settings):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = False
    settings.COTHON_SALESFORCE_HOST_ALLOWLIST = ["sf-proxy.agency.example", ".gov-cloud.example"]
    assert hosts.problem("https://sf-proxy.agency.example:8443") is None
    assert hosts.problem("https://acme.gov-cloud.example") is None
    assert hosts.problem("https://other.agency.example")
    assert hosts.problem("http://sf-proxy.agency.example")  # still https only


def test_a_salesforce_name_that_resolves_to_a_private_address_is_refused(settings, monkeypatch):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = False

    # A DNS answer pointing a Salesforce-looking name at an internal address (this machine has
    # no DNS to ask; the address check after resolution is what is tested).
    monkeypatch.setattr(hosts, "_resolve", lambda host, port: ["10.20.30.40"])
    with pytest.raises(hosts.SalesforceAuthError) as caught:
        hosts.guard("https://rebind.my.salesforce.com")
    assert caught.value.code == "HOST_NOT_ALLOWED" and "private" in caught.value.message
    settings.COTHON_SALESFORCE_HOST_ALLOWLIST = ["rebind.my.salesforce.com"]
    hosts.guard("https://rebind.my.salesforce.com")  # allow-listed: the operator decided


# --- the Connect form ------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["client_credentials", "password", "oauth_web"])
def test_connect_form_refuses_a_loopback_port_without_calling_it(method, web_as, alice, settings, open_port):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = False
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _form(f"https://127.0.0.1:{open_port.port}", method))
    assert response.status_code == 200
    assert "localhost" in _page(response) and "my.salesforce.com" in _page(response)
    assert open_port.connections == 0
    assert not SalesforceConnection.objects.filter(tenant=alice.tenant).exists()


@pytest.mark.parametrize("method", ["client_credentials", "password"])
def test_connect_form_refuses_any_https_host_that_is_not_salesforce(method, web_as, alice, settings):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = False
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _form("https://intranet.corp.example", method))
    assert response.status_code == 200 and "is not one" in _page(response)
    assert not SalesforceConnection.objects.filter(tenant=alice.tenant).exists()


@pytest.mark.parametrize("method", ["client_credentials", "password"])
def test_open_and_closed_ports_give_the_same_answer(method, web_as, alice, settings, open_port, closed_port):
    # Loopback allowed (the demo), so the calls are really made: the answers must not tell
    # an open port from a closed one.
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    client = web_as(alice.admin)
    pages = []
    for port in (open_port.port, closed_port):
        response = client.post(reverse("integrations:connect"), _form(f"http://127.0.0.1:{port}", method))
        assert response.status_code == 200
        html = _page(response)
        pages.append(html[html.index("Salesforce refused"):][:600] if "Salesforce refused" in html else html)
    assert open_port.connections >= 1
    assert "Could not reach Salesforce at 127.0.0.1" in pages[0]
    assert pages[0] == pages[1].replace(str(closed_port), str(open_port.port))
    for html in pages:
        assert "refused" not in html.lower().replace("salesforce refused", "") and "Errno" not in html


@pytest.mark.parametrize("method", ["client_credentials", "password"])
def test_a_non_salesforce_reply_is_summarised_never_echoed(method, web_as, alice, settings, fake_server):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    fake_server.reply(404, INTERNAL_PAGE)
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _form(fake_server.url, method))
    html = _page(response)
    assert response.status_code == 200
    assert "SECRET-INTERNAL-TEXT" not in html and "hunter2" not in html and "Internal admin console" not in html
    assert "Salesforce answered HTTP 404 at the" in html
    assert fake_server.requests  # it was called (loopback allowed), yet nothing of it is shown


def test_a_non_xml_soap_reply_is_a_form_error_not_a_500(web_as, alice, settings, fake_server):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    settings.SALESFORCE_CLIENT_ID = ""  # no connected app: the password path goes straight to SOAP login
    fake_server.reply(200, INTERNAL_PAGE)
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _form(fake_server.url, "password", client_id="", client_secret=""))
    html = _page(response)
    assert response.status_code == 200
    assert "Salesforce answered HTTP 200 at the SOAP login endpoint" in html and "SECRET-INTERNAL-TEXT" not in html
    assert ("POST", "/services/Soap/u/59.0") in fake_server.requests


@pytest.mark.parametrize("method", ["client_credentials", "password"])
def test_an_instance_url_outside_salesforce_in_a_token_response_is_refused(method, web_as, alice, settings, fake_server):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    fake_server.reply(200, json.dumps({"access_token": "tok", "instance_url": "https://10.255.255.1",
                                       "id": "https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA"}),
                      "application/json")
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _form(fake_server.url, method))
    html = _page(response)
    assert response.status_code == 200
    assert "HOST_NOT_ALLOWED" in html and "instance URL in Salesforce" in html
    assert not SalesforceConnection.objects.filter(tenant=alice.tenant).exists()


def test_a_soap_server_url_outside_salesforce_is_refused(web_as, alice, settings, fake_server):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    settings.SALESFORCE_CLIENT_ID = ""
    fake_server.reply(200, (
        '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body><loginResponse><result><serverUrl>https://metadata.internal.example/services/Soap/u/59.0</serverUrl>"
        "<sessionId>sess</sessionId><organizationId>00D000000000001AAA</organizationId><userId>005000000000001AAA</userId>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"), "text/xml")
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _form(fake_server.url, "password", client_id="", client_secret=""))
    html = _page(response)
    assert response.status_code == 200 and "HOST_NOT_ALLOWED" in html and "server URL" in html
    assert not SalesforceConnection.objects.filter(tenant=alice.tenant).exists()


def test_oauth_web_code_exchange_refuses_a_foreign_instance_url(web_as, alice, settings, fake_server):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _form(fake_server.url, "oauth_web"))
    assert response.status_code == 302 and response["Location"].startswith(fake_server.url)
    state = parse_qs(urlparse(response["Location"]).query)["state"][0]
    fake_server.reply(200, json.dumps({"access_token": "tok", "instance_url": "https://169.254.169.254"}), "application/json")
    response = client.get(reverse("integrations:oauth_callback"), {"state": state, "code": "one-time-code"}, follow=True)
    html = _page(response)
    assert response.status_code == 200 and "HOST_NOT_ALLOWED" in html
    connection = SalesforceConnection.objects.get(tenant=alice.tenant)
    assert connection.status != "connected" and connection.instance_url == ""
    # Only the token endpoint was called, never the refused instance.
    assert [path for _, path in fake_server.requests] == ["/services/oauth2/token"]


def test_oauth_web_token_endpoint_html_error_is_summarised(web_as, alice, settings, fake_server):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _form(fake_server.url, "oauth_web"))
    state = parse_qs(urlparse(response["Location"]).query)["state"][0]
    fake_server.reply(502, INTERNAL_PAGE)
    response = client.get(reverse("integrations:oauth_callback"), {"state": state, "code": "c"}, follow=True)
    html = _page(response)
    assert response.status_code == 200
    assert "Salesforce answered HTTP 502 at the token endpoint" in html and "SECRET-INTERNAL-TEXT" not in html


def test_a_stored_connection_whose_instance_is_no_longer_allowed_makes_no_call(alice, settings):
    from integrations import connections as svc
    from integrations.crypto import encrypt_token

    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = False
    connection = SalesforceConnection.objects.create(
        tenant=alice.tenant, name="Old", login_url="https://login.salesforce.com", instance_url="http://127.0.0.1:6379",
        status="connected", access_token_encrypted=encrypt_token("tok"))
    with pytest.raises(svc.ConnectionNotUsable) as caught:
        svc.client_for(connection)
    assert caught.value.code == "HOST_NOT_ALLOWED"


def test_a_maintenance_page_at_token_refresh_is_retryable_and_keeps_the_connection(alice, settings, fake_server):
    from integrations import connections as svc
    from integrations.crypto import encrypt_token
    from integrations.salesforce.errors import SalesforceError

    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    connection = SalesforceConnection.objects.create(
        tenant=alice.tenant, name="Prod", login_url=fake_server.url, instance_url=fake_server.url, status="connected",
        client_id="app-id", client_secret_encrypted=encrypt_token("s"), refresh_token_encrypted=encrypt_token("r"))
    fake_server.reply(503, "<html>Down for maintenance SECRET-INTERNAL-TEXT</html>")
    with pytest.raises(SalesforceError) as caught:
        svc.connection_refresh(connection=connection, actor=None)
    assert caught.value.retryable and "HTTP 503 at the token endpoint" in caught.value.message
    assert "SECRET-INTERNAL-TEXT" not in caught.value.message
    connection.refresh_from_db()
    assert connection.status == "connected"  # not "needs reconnect": Salesforce was only down
