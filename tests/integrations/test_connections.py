"""Connection lifecycle against the local Salesforce emulator (real HTTP, real tokens)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.db import connection as db_connection

from integrations import connections as svc
from integrations.crypto import decrypt_token
from integrations.models import AuthMethod, ConnectionStatus, Environment
from integrations.salesforce import oauth
from integrations.salesforce.errors import SalesforceAuthError

CALLBACK = "http://127.0.0.1:8000/settings/integrations/salesforce/oauth/callback/"


@pytest.fixture(autouse=True)
def loopback_oauth(monkeypatch):
    """The emulator's login page is plain HTTP on loopback, as in `make run` (which sets this)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def demo_connection(alice, emulator_reset):
    creds = emulator_reset.demo
    return svc.connection_create(
        tenant=alice.tenant, name="Demo org", environment=Environment.CUSTOM, login_url=emulator_reset.http_url,
        client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle,
        actor=alice.admin)


def _browser_login(emulator, authorize_url: str, username: str, password: str) -> dict:
    """What a person does on the emulator's login page."""
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(authorize_url)
    assert page.status_code == 200 and "Log In" in page.text
    params = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
    response = browser.post(f"{emulator.http_url}/services/oauth2/authorize",
                            data=dict(params, username=username, pw=password, action="allow"), allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    return {k: v[0] for k, v in parse_qs(urlparse(response.headers["Location"]).query).items()}


def test_oauth_web_server_flow_with_pkce_connects_and_reads_health(alice, demo_connection, emulator_reset):
    app = svc.oauth_app(demo_connection)
    url, state, verifier = oauth.authorization_url(app, redirect_uri=CALLBACK)
    assert "code_challenge=" in url and "code_challenge_method=S256" in url
    admin = emulator_reset.demo["admin"]
    callback = _browser_login(emulator_reset, url, admin["username"], admin["password"])
    assert callback["state"] == state
    connection = svc.connection_oauth_complete(connection=demo_connection, code=callback["code"], code_verifier=verifier,
                                               redirect_uri=CALLBACK, actor=alice.admin)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.org_id[:15] == emulator_reset.demo["org_id"][:15]
    assert connection.sf_username == admin["username"]
    assert connection.instance_url == emulator_reset.instance_url
    assert connection.edition and connection.api_usage_max == 5000 and connection.api_usage_used >= 1
    assert decrypt_token(connection.refresh_token_encrypted)


def test_a_wrong_pkce_verifier_is_refused_plainly(alice, demo_connection, emulator_reset):
    app = svc.oauth_app(demo_connection)
    url, _, _ = oauth.authorization_url(app, redirect_uri=CALLBACK)
    admin = emulator_reset.demo["admin"]
    callback = _browser_login(emulator_reset, url, admin["username"], admin["password"])
    with pytest.raises(SalesforceAuthError) as exc:
        svc.connection_oauth_complete(connection=demo_connection, code=callback["code"], code_verifier="x" * 43,
                                      redirect_uri=CALLBACK, actor=alice.admin)
    assert exc.value.code == "invalid_grant"
    demo_connection.refresh_from_db()
    assert demo_connection.status == ConnectionStatus.PENDING


def test_username_password_and_security_token_connect(alice, demo_connection, emulator_reset):
    user = emulator_reset.demo["integration"] if "integration" in emulator_reset.demo else None
    username = emulator_reset.demo["username"]
    connection = svc.connection_connect_password(connection=demo_connection, username=username,
                                                 password=emulator_reset.demo["password"],
                                                 security_token=emulator_reset.demo["security_token"], actor=alice.admin)
    assert connection.status == ConnectionStatus.CONNECTED and connection.auth_method == AuthMethod.PASSWORD
    assert connection.sf_username == username
    del user


def test_sandbox_blocks_the_password_grant_so_soap_login_is_used(alice, emulator_reset):
    creds = emulator_reset.sandbox
    connection = svc.connection_create(tenant=alice.tenant, name="UAT", environment=Environment.CUSTOM,
                                       login_url=emulator_reset.instance_url, client_id=creds["client_id"],
                                       client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle, actor=alice.admin)
    svc.connection_connect_password(connection=connection, username=creds["username"], password=creds["password"],
                                    security_token=creds["security_token"], actor=alice.admin)
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.org_id[:15] == creds["org_id"][:15]


def test_a_wrong_password_says_so(alice, demo_connection, emulator_reset):
    with pytest.raises(SalesforceAuthError) as exc:
        svc.connection_connect_password(connection=demo_connection, username=emulator_reset.demo["username"],
                                        password="wrong", security_token="", actor=alice.admin)
    assert exc.value.code in ("INVALID_LOGIN", "invalid_grant")
    assert demo_connection.status == ConnectionStatus.PENDING


def test_client_credentials_connect_as_the_run_as_user(alice, demo_connection, emulator_reset):
    connection = svc.connection_connect_client_credentials(connection=demo_connection, actor=alice.admin)
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.sf_username == emulator_reset.demo["username"]


def _connected(alice, demo_connection, emulator):
    return svc.connection_connect_client_credentials(connection=demo_connection, actor=alice.admin)


def test_an_expired_access_token_is_refreshed_automatically(alice, demo_connection, emulator_reset):
    connection = _connected(alice, demo_connection, emulator_reset)
    old = decrypt_token(connection.access_token_encrypted)
    emulator_reset.client.expire_token(old)
    client = svc.client_for(connection)
    assert client.query("SELECT Id FROM Organization")["totalSize"] == 1
    connection.refresh_from_db()
    assert decrypt_token(connection.access_token_encrypted) != old
    assert connection.status == ConnectionStatus.CONNECTED


def test_a_revoked_refresh_token_marks_needs_reconnect_without_retrying(alice, demo_connection, emulator_reset):
    app = svc.oauth_app(demo_connection)
    url, _, verifier = oauth.authorization_url(app, redirect_uri=CALLBACK)
    admin = emulator_reset.demo["admin"]
    callback = _browser_login(emulator_reset, url, admin["username"], admin["password"])
    connection = svc.connection_oauth_complete(connection=demo_connection, code=callback["code"], code_verifier=verifier,
                                               redirect_uri=CALLBACK, actor=alice.admin)
    emulator_reset.client.revoke_token(decrypt_token(connection.refresh_token_encrypted))
    before = emulator_reset.client.counters()
    client = svc.client_for(connection)
    with pytest.raises(SalesforceAuthError):
        client.query("SELECT Id FROM Organization")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert connection.last_error_code in ("invalid_grant", "INVALID_SESSION_ID")
    # Now nothing is attempted at all: no retry storm against Salesforce.
    with pytest.raises(svc.ConnectionNotUsable):
        svc.client_for(connection)
    after = emulator_reset.client.counters()
    # The failed query and one refresh attempt — nothing more (hooks are not counted).
    assert 1 <= _total(after) - _total(before) <= 2


def _total(counters: dict) -> int:
    return counters["total"]


def test_tokens_are_unreadable_in_the_database(alice, demo_connection, emulator_reset):
    connection = _connected(alice, demo_connection, emulator_reset)
    token = decrypt_token(connection.access_token_encrypted)
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT * FROM integrations_salesforceconnection WHERE id = %s", [connection.pk])
        row = cursor.fetchone()
    dump = " ".join(bytes(v).decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v) for v in row)
    assert token not in dump and token.split("!")[1] not in dump
    assert emulator_reset.demo["client_secret"] not in dump


def test_disconnect_revokes_the_token_and_keeps_the_links(alice, demo_connection, emulator_reset):
    connection = _connected(alice, demo_connection, emulator_reset)
    token = decrypt_token(connection.access_token_encrypted)
    svc.connection_disconnect(connection=connection, actor=alice.admin)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED and not connection.access_token_encrypted
    response = emulator_reset.session(token=token).get(f"{emulator_reset.api()}/limits")
    assert response.status_code == 401
    assert connection.events.filter(kind="disconnected").exists()


def test_refresh_connection_updates_health(alice, demo_connection, emulator_reset):
    connection = _connected(alice, demo_connection, emulator_reset)
    svc.connection_refresh(connection=connection, actor=alice.admin)
    connection.refresh_from_db()
    assert connection.api_usage_max == 5000 and connection.last_success_at is not None


def test_an_http_login_url_is_refused_unless_loopback(alice):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        svc.connection_create(tenant=alice.tenant, name="Bad", environment=Environment.CUSTOM, login_url="http://example.com")
    assert "https://" in str(exc.value.message_dict["login_url"])


def test_the_first_connection_is_the_default_and_sandboxes_start_with_push_off(alice):
    first = svc.connection_create(tenant=alice.tenant, name="Prod")
    sandbox = svc.connection_create(tenant=alice.tenant, name="UAT", environment=Environment.SANDBOX)
    assert first.is_default and first.push_enabled and first.login_url == "https://login.salesforce.com"
    assert not sandbox.is_default and not sandbox.push_enabled and sandbox.login_url == "https://test.salesforce.com"
    assert first.settings_versions.count() == 1
