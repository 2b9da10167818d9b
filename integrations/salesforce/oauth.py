"""Obtaining Salesforce tokens: OAuth 2.0 (web server + PKCE, refresh, client credentials,
username-password) through requests-oauthlib, and the legacy SOAP partner login.

These are the only Salesforce calls outside SalesforceClient, because they happen before a
session exists; they use the same timeouts, per-connection CA bundle and error types.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlparse
from xml.sax.saxutils import escape

import requests
from defusedxml import ElementTree
from oauthlib.oauth2 import BackendApplicationClient, LegacyApplicationClient, OAuth2Error
from requests_oauthlib import OAuth2Session

from integrations.salesforce.errors import SalesforceAuthError, SalesforceError

SOAP_API_VERSION = "59.0"


@dataclass(frozen=True)
class OAuthApp:
    login_url: str
    client_id: str
    client_secret: str
    ca_bundle: str | None = None
    timeout: float = 30.0

    @property
    def verify(self) -> str | bool:
        return self.ca_bundle or True

    def endpoint(self, name: str) -> str:
        return f"{self.login_url.rstrip('/')}/services/oauth2/{name}"


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    instance_url: str
    refresh_token: str = ""
    id_url: str = ""
    issued_at_ms: int | None = None

    @property
    def org_id(self) -> str:
        parts = self.id_url.rstrip("/").split("/")
        return parts[-2] if len(parts) >= 2 else ""

    @property
    def user_id(self) -> str:
        return self.id_url.rstrip("/").split("/")[-1] if self.id_url else ""


def is_loopback_http(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme != "http":
        return False
    host = parsed.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_login_url(url: str) -> str | None:
    """None when acceptable, else why not. http only for a loopback host (the local emulator)."""
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return None
    if is_loopback_http(url):
        return None
    return "The login URL must start with https:// (http is accepted only for a local emulator on 127.0.0.1/localhost)."


def _grant_from(token: dict) -> TokenGrant:
    if "access_token" not in token or "instance_url" not in token:
        raise SalesforceError("INVALID_TOKEN_RESPONSE", "Salesforce's token response lacked access_token or instance_url")
    issued = token.get("issued_at")
    return TokenGrant(
        access_token=token["access_token"],
        instance_url=token["instance_url"].rstrip("/"),
        refresh_token=token.get("refresh_token", ""),
        id_url=token.get("id", ""),
        issued_at_ms=int(issued) if str(issued or "").isdigit() else None,
    )


def _oauth_error(exc: Exception) -> SalesforceAuthError:
    if isinstance(exc, OAuth2Error):
        return SalesforceAuthError(exc.error or "invalid_grant", exc.description or str(exc), status=exc.status_code)
    if isinstance(exc, requests.RequestException):
        return SalesforceAuthError("CONNECTION_ERROR", f"Could not reach the Salesforce login server: {exc}")
    return SalesforceAuthError("invalid_grant", str(exc))


def authorization_url(app: OAuthApp, *, redirect_uri: str, state: str | None = None) -> tuple[str, str, str]:
    """(URL to send the browser to, state, PKCE code verifier to keep in the session)."""
    session = OAuth2Session(app.client_id, redirect_uri=redirect_uri, pkce="S256")
    url, state = session.authorization_url(app.endpoint("authorize"), state=state, prompt="login consent")
    return url, state, session._code_verifier


def exchange_code(app: OAuthApp, *, code: str, code_verifier: str, redirect_uri: str) -> TokenGrant:
    session = OAuth2Session(app.client_id, redirect_uri=redirect_uri)
    try:
        token = session.fetch_token(
            app.endpoint("token"), code=code, client_secret=app.client_secret, include_client_id=True,
            code_verifier=code_verifier, verify=app.verify, timeout=app.timeout,
        )
    except Exception as exc:  # noqa: BLE001 - translated
        raise _oauth_error(exc) from exc
    return _grant_from(token)


def refresh(app: OAuthApp, *, refresh_token: str) -> TokenGrant:
    session = OAuth2Session(app.client_id)
    try:
        token = session.refresh_token(
            app.endpoint("token"), refresh_token=refresh_token, client_id=app.client_id,
            client_secret=app.client_secret, verify=app.verify, timeout=app.timeout,
        )
    except Exception as exc:  # noqa: BLE001
        raise _oauth_error(exc) from exc
    # Salesforce does not rotate refresh tokens by default: keep the one we have.
    grant = _grant_from(token)
    return grant if grant.refresh_token else TokenGrant(grant.access_token, grant.instance_url, refresh_token, grant.id_url, grant.issued_at_ms)


def client_credentials(app: OAuthApp) -> TokenGrant:
    session = OAuth2Session(client=BackendApplicationClient(client_id=app.client_id))
    try:
        token = session.fetch_token(app.endpoint("token"), client_id=app.client_id, client_secret=app.client_secret,
                                    include_client_id=True, verify=app.verify, timeout=app.timeout)
    except Exception as exc:  # noqa: BLE001
        raise _oauth_error(exc) from exc
    return _grant_from(token)


def password_grant(app: OAuthApp, *, username: str, password_and_token: str) -> TokenGrant:
    session = OAuth2Session(client=LegacyApplicationClient(client_id=app.client_id))
    try:
        token = session.fetch_token(app.endpoint("token"), username=username, password=password_and_token,
                                    client_id=app.client_id, client_secret=app.client_secret, include_client_id=True,
                                    verify=app.verify, timeout=app.timeout)
    except Exception as exc:  # noqa: BLE001
        raise _oauth_error(exc) from exc
    return _grant_from(token)


def soap_login(app: OAuthApp, *, username: str, password_and_token: str) -> TokenGrant:
    """Partner SOAP login() — legacy (retired from API v65.0); used only when the org refuses
    the OAuth password grant and the admin chose username + password + token."""
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">'
        f"<env:Body><urn:login><urn:username>{escape(username)}</urn:username>"
        f"<urn:password>{escape(password_and_token)}</urn:password></urn:login></env:Body></env:Envelope>"
    )
    url = f"{app.login_url.rstrip('/')}/services/Soap/u/{SOAP_API_VERSION}"
    try:
        response = requests.post(url, data=envelope.encode(), headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
                                 verify=app.verify, timeout=app.timeout)
    except requests.RequestException as exc:
        raise _oauth_error(exc) from exc
    root = ElementTree.fromstring(response.content)
    def text(tag: str) -> str:
        node = root.find(f".//{{*}}{tag}")
        return (node.text or "") if node is not None else ""
    if response.status_code != 200:
        code = text("exceptionCode") or "INVALID_LOGIN"
        raise SalesforceAuthError(code, text("exceptionMessage") or text("faultstring") or "Login failed", status=response.status_code)
    server_url = text("serverUrl")
    parsed = urlparse(server_url)
    instance_url = f"{parsed.scheme}://{parsed.netloc}"
    org_id, user_id = text("organizationId"), text("userId")
    return TokenGrant(access_token=text("sessionId"), instance_url=instance_url,
                      id_url=f"{app.login_url.rstrip('/')}/id/{org_id}/{user_id}")


def revoke(app: OAuthApp, *, token: str) -> None:
    """Revoke a refresh or access token. Raises SalesforceError if Salesforce refuses."""
    try:
        response = requests.post(app.endpoint("revoke"), data={"token": token}, verify=app.verify, timeout=app.timeout)
    except requests.RequestException as exc:
        raise _oauth_error(exc) from exc
    if response.status_code >= 400:
        raise SalesforceAuthError("revoke_failed", response.text[:300], status=response.status_code)


def userinfo(app: OAuthApp, *, instance_url: str, access_token: str) -> dict:
    try:
        response = requests.get(f"{instance_url.rstrip('/')}/services/oauth2/userinfo",
                                headers={"Authorization": f"Bearer {access_token}"}, verify=app.verify, timeout=app.timeout)
    except requests.RequestException as exc:
        raise _oauth_error(exc) from exc
    if response.status_code == 401:
        raise SalesforceAuthError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
    if response.status_code >= 400:
        raise SalesforceError("USERINFO_FAILED", response.text[:300], status=response.status_code)
    return response.json()
