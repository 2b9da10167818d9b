"""One Salesforce org serves one Cothon organization: a second tenant connecting to an org that
another tenant uses is refused on every connect path, before any token is stored (issue 15 #4)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.urls import reverse

from integrations import connections as svc
from integrations.models import ConnectionStatus, Environment, SalesforceConnection
from integrations.salesforce import oauth
from integrations.salesforce.errors import SalesforceError

CALLBACK = "http://127.0.0.1:8000/settings/integrations/salesforce/oauth/callback/"


@pytest.fixture(autouse=True)
def loopback_oauth(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _new(world, emulator, name="Demo org", org="demo", **kwargs):
    creds = emulator.creds(org)
    return svc.connection_create(
        tenant=world.tenant, name=name, environment=Environment.CUSTOM, login_url=emulator.http_url,
        client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=emulator.ca_bundle,
        actor=world.admin, **kwargs)


@pytest.fixture
def northwind_uses_demo(alice, emulator_reset):
    return svc.connection_connect_client_credentials(connection=_new(alice, emulator_reset), actor=alice.admin)


def _assert_refused_and_unconnected(excinfo, connection):
    assert excinfo.value.code == "ORG_IN_USE"
    assert "already connected to another Cothon organization" in excinfo.value.message
    connection = SalesforceConnection.objects.get(pk=connection.pk)
    assert connection.status == ConnectionStatus.PENDING
    assert bytes(connection.access_token_encrypted) == b"" and bytes(connection.refresh_token_encrypted) == b""
    assert connection.org_id == "" and connection.connected_at is None


def test_client_credentials_to_an_org_another_tenant_uses_is_refused(bob, northwind_uses_demo, emulator_reset):
    maple = _new(bob, emulator_reset)
    with pytest.raises(SalesforceError) as exc:
        svc.connection_connect_client_credentials(connection=maple, actor=bob.admin)
    _assert_refused_and_unconnected(exc, maple)


def test_password_login_to_an_org_another_tenant_uses_is_refused(bob, northwind_uses_demo, emulator_reset):
    maple = _new(bob, emulator_reset)
    creds = emulator_reset.demo
    with pytest.raises(SalesforceError) as exc:
        svc.connection_connect_password(connection=maple, username=creds["username"], password=creds["password"],
                                        security_token=creds["security_token"], actor=bob.admin)
    _assert_refused_and_unconnected(exc, maple)
    assert bytes(SalesforceConnection.objects.get(pk=maple.pk).password_encrypted) == b""


def test_oauth_sign_in_to_an_org_another_tenant_uses_is_refused(bob, northwind_uses_demo, emulator_reset):
    maple = _new(bob, emulator_reset)
    url, _, verifier = oauth.authorization_url(svc.oauth_app(maple), redirect_uri=CALLBACK)
    browser = requests.Session()
    browser.trust_env = False
    params = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    admin = emulator_reset.demo["admin"]
    answer = browser.post(f"{emulator_reset.http_url}/services/oauth2/authorize",
                          data=dict(params, username=admin["username"], pw=admin["password"], action="allow"), allow_redirects=False)
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    with pytest.raises(SalesforceError) as exc:
        svc.connection_oauth_complete(connection=maple, code=code, code_verifier=verifier, redirect_uri=CALLBACK, actor=bob.admin)
    _assert_refused_and_unconnected(exc, maple)


def test_the_connect_form_says_why_and_keeps_nothing(web_as, bob, northwind_uses_demo, emulator_reset, settings, client):
    settings.DEBUG = True  # the form offers the per-connection CA bundle (the emulator's)
    creds = emulator_reset.demo
    data = {"name": "Demo org", "environment": "custom", "login_url": emulator_reset.http_url, "auth_method": "client_credentials",
            "client_id": creds["client_id"], "client_secret": creds["client_secret"], "ca_bundle_path": emulator_reset.ca_bundle}
    response = web_as(bob.admin).post(reverse("integrations:connect"), data)
    assert response.status_code == 200
    assert "already connected to another Cothon organization" in response.content.decode()
    assert not SalesforceConnection.objects.filter(tenant=bob.tenant).exists()


def test_the_same_tenant_may_reconnect_its_own_org_and_another_org_is_fine(alice, bob, northwind_uses_demo, emulator_reset):
    again = svc.connection_connect_client_credentials(connection=northwind_uses_demo, actor=alice.admin)
    assert again.status == ConnectionStatus.CONNECTED
    sandbox = svc.connection_connect_client_credentials(connection=_new(bob, emulator_reset, name="UAT", org="sandbox"),
                                                       actor=bob.admin)
    assert sandbox.status == ConnectionStatus.CONNECTED


def test_an_org_released_by_a_disconnect_can_be_connected_by_another_tenant(alice, bob, northwind_uses_demo, emulator_reset):
    svc.connection_disconnect(connection=northwind_uses_demo, actor=alice.admin)
    maple = svc.connection_connect_client_credentials(connection=_new(bob, emulator_reset), actor=bob.admin)
    assert maple.status == ConnectionStatus.CONNECTED
    # ... and now Northwind's reconnect is the one refused.
    with pytest.raises(SalesforceError) as exc:
        svc.connection_connect_client_credentials(connection=northwind_uses_demo, actor=alice.admin)
    assert exc.value.code == "ORG_IN_USE"
    northwind_uses_demo.refresh_from_db()
    assert northwind_uses_demo.status == ConnectionStatus.DISCONNECTED


def test_a_second_connection_starts_with_push_off(alice):
    first = svc.connection_create(tenant=alice.tenant, name="Prod")
    regional = svc.connection_create(tenant=alice.tenant, name="Regional")
    assert first.is_default and first.push_enabled
    assert not regional.is_default and not regional.push_enabled
    explicit = svc.connection_create(tenant=alice.tenant, name="Mirror", push_enabled=True)
    assert explicit.push_enabled


def test_the_oauth_pages_say_why_and_the_connection_stays_not_connected(web_as, bob, northwind_uses_demo, emulator_reset, settings,
                                                                        client):
    settings.DEBUG = True  # the form offers the per-connection CA bundle (the emulator's)
    client.defaults["HTTP_HOST"] = "127.0.0.1:8000"  # the emulator accepts loopback redirect URIs only
    creds = emulator_reset.demo
    data = {"name": "Demo org", "environment": "custom", "login_url": emulator_reset.http_url, "auth_method": "oauth_web",
            "client_id": creds["client_id"], "client_secret": creds["client_secret"], "ca_bundle_path": emulator_reset.ca_bundle}
    web = web_as(bob.admin)
    authorize = web.post(reverse("integrations:connect"), data)["Location"]
    browser = requests.Session()
    browser.trust_env = False
    params = {k: v[0] for k, v in parse_qs(urlparse(authorize).query).items()}
    admin = creds["admin"]
    answer = browser.post(f"{emulator_reset.http_url}/services/oauth2/authorize",
                          data=dict(params, username=admin["username"], pw=admin["password"], action="allow"), allow_redirects=False)
    callback = urlparse(answer.headers["Location"])
    page = web.get(f"{callback.path}?{callback.query}", follow=True).content.decode()
    assert "already connected to another Cothon organization" in page and "Sign in to another org" in page
    maple = SalesforceConnection.objects.get(tenant=bob.tenant)
    assert maple.status == ConnectionStatus.PENDING and bytes(maple.access_token_encrypted) == b"" and maple.org_id == ""
