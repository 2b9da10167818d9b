"""Obtaining Salesforce tokens: OAuth 2.0 (web server + PKCE, refresh, client credentials,
username-password) through requests-oauthlib, and the legacy SOAP partner login.

These are the only Salesforce calls outside SalesforceClient, because they happen before a
session exists; they use the same timeouts, per-connection CA bundle and error types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlparse
from xml.sax.saxutils import escape

import requests
from django.views.decorators.debug import sensitive_variables
from defusedxml import DefusedXmlException, ElementTree
from oauthlib.oauth2 import BackendApplicationClient, LegacyApplicationClient, OAuth2Error
from requests_oauthlib import OAuth2Session

from integrations.salesforce import hosts
from integrations.salesforce.errors import SalesforceAuthError, SalesforceError

SOAP_API_VERSION = "59.0"


@dataclass(frozen=True)
class OAuthApp:
    login_url: str
    client_id: str
    client_secret: str = field(repr=False)
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


def check_login_url(url: str) -> str | None:
    """None when acceptable, else why not (integrations.salesforce.hosts: https Salesforce
    domains, the operator's allow-list, loopback only for the local demo)."""
    return hosts.problem(url)


_CODE = re.compile(r"^[A-Za-z_]{2,64}$")
_TEXT = re.compile(r"^[\w .,;:'’()/@+!?&-]{1,200}$")


def _safe_code(value: object, default: str) -> str:
    """An error code as Salesforce sends them (invalid_grant, INVALID_LOGIN); anything else is
    replaced, so a remote body never reaches the page."""
    return value if isinstance(value, str) and _CODE.match(value) else default


def _safe_text(value: object) -> str:
    """Salesforce's one-line error descriptions ("authentication failure"); not HTML, not a page."""
    return value.strip() if isinstance(value, str) and _TEXT.match(value.strip()) else ""


def _summary(status: int, where: str) -> str:
    return f"Salesforce answered HTTP {status} at the {where}, not the expected answer. Check the login URL."


def _unexpected(status: int, where: str) -> SalesforceError:
    """A reply that is not Salesforce's answer. 5xx and 429 (maintenance, overload) are worth a
    retry and must not mark the connection as needing a reconnect; anything else is the wrong
    address or a refused login."""
    if status >= 500 or status == 429:
        return SalesforceError("SERVER_UNAVAILABLE", _summary(status, where), status=status)
    return SalesforceAuthError("UNEXPECTED_RESPONSE", _summary(status, where), status=status)


def _expect_json(where: str):
    """A compliance hook for requests-oauthlib: a reply that is not a JSON object (an HTML error
    page, a proxy's 404, anything else) becomes a short summary instead of being parsed."""
    def hook(response: requests.Response) -> requests.Response:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _unexpected(response.status_code, where)
        if response.status_code >= 400 and "error" not in body:
            raise _unexpected(response.status_code, where)
        return response
    return hook


def _session(*args, **kwargs) -> OAuth2Session:
    session = OAuth2Session(*args, **kwargs)
    # A Salesforce token endpoint never redirects; following one could lead anywhere.
    session.max_redirects = 0
    for hook_name in ("access_token_response", "refresh_token_response"):
        session.register_compliance_hook(hook_name, _expect_json("token endpoint"))
    return session


def _grant_from(token: dict) -> TokenGrant:
    if not isinstance(token.get("access_token"), str) or not isinstance(token.get("instance_url"), str):
        raise SalesforceError("INVALID_TOKEN_RESPONSE", "Salesforce's token response lacked access_token or instance_url")
    # The instance URL decides where every later call goes: the same rules as the login URL.
    hosts.guard(token["instance_url"], what="The instance URL in Salesforce's token response")
    issued = token.get("issued_at")
    return TokenGrant(
        access_token=token["access_token"],
        instance_url=token["instance_url"].rstrip("/"),
        refresh_token=token.get("refresh_token", "") or "",
        id_url=token.get("id", "") if isinstance(token.get("id", ""), str) else "",
        issued_at_ms=int(issued) if str(issued or "").isdigit() else None,
    )


def _oauth_error(exc: Exception, url: str) -> SalesforceError:
    if isinstance(exc, SalesforceError):
        return exc
    if isinstance(exc, OAuth2Error):
        code = _safe_code(exc.error, "invalid_grant")
        description = _safe_text(exc.description) or "Salesforce refused the sign-in."
        return SalesforceAuthError(code, description, status=exc.status_code)
    if isinstance(exc, requests.TooManyRedirects):
        return SalesforceAuthError("UNEXPECTED_RESPONSE", "Salesforce answered with a redirect at the token endpoint. Check the login URL.")
    if isinstance(exc, requests.RequestException):
        return hosts.unreachable(url)
    # oauthlib's own parsing errors (e.g. a JSON reply that is not a token): never its text.
    return SalesforceAuthError("UNEXPECTED_RESPONSE", "Salesforce's answer at the token endpoint could not be read. Check the login URL.")


def authorization_url(app: OAuthApp, *, redirect_uri: str, state: str | None = None) -> tuple[str, str, str]:
    """(URL to send the browser to, state, PKCE code verifier to keep in the session)."""
    session = OAuth2Session(app.client_id, redirect_uri=redirect_uri, pkce="S256")
    url, state = session.authorization_url(app.endpoint("authorize"), state=state, prompt="login consent")
    return url, state, session._code_verifier


@sensitive_variables()
def exchange_code(app: OAuthApp, *, code: str, code_verifier: str, redirect_uri: str) -> TokenGrant:
    session = _session(app.client_id, redirect_uri=redirect_uri)
    try:
        hosts.guard(app.login_url, what="The login URL")
        token = session.fetch_token(
            app.endpoint("token"), code=code, client_secret=app.client_secret, include_client_id=True,
            code_verifier=code_verifier, verify=app.verify, timeout=app.timeout,
        )
    except Exception as exc:  # noqa: BLE001 - translated
        raise _oauth_error(exc, app.login_url) from exc
    return _grant_from(token)


@sensitive_variables()
def refresh(app: OAuthApp, *, refresh_token: str) -> TokenGrant:
    session = _session(app.client_id)
    try:
        hosts.guard(app.login_url, what="The login URL")
        token = session.refresh_token(
            app.endpoint("token"), refresh_token=refresh_token, client_id=app.client_id,
            client_secret=app.client_secret, verify=app.verify, timeout=app.timeout,
        )
    except Exception as exc:  # noqa: BLE001
        raise _oauth_error(exc, app.login_url) from exc
    # Salesforce does not rotate refresh tokens by default: keep the one we have.
    grant = _grant_from(token)
    return grant if grant.refresh_token else TokenGrant(grant.access_token, grant.instance_url, refresh_token, grant.id_url, grant.issued_at_ms)


@sensitive_variables()
def client_credentials(app: OAuthApp) -> TokenGrant:
    session = _session(client=BackendApplicationClient(client_id=app.client_id))
    try:
        hosts.guard(app.login_url, what="The login URL")
        token = session.fetch_token(app.endpoint("token"), client_id=app.client_id, client_secret=app.client_secret,
                                    include_client_id=True, verify=app.verify, timeout=app.timeout)
    except Exception as exc:  # noqa: BLE001
        raise _oauth_error(exc, app.login_url) from exc
    return _grant_from(token)


@sensitive_variables()
def password_grant(app: OAuthApp, *, username: str, password_and_token: str) -> TokenGrant:
    session = _session(client=LegacyApplicationClient(client_id=app.client_id))
    try:
        hosts.guard(app.login_url, what="The login URL")
        token = session.fetch_token(app.endpoint("token"), username=username, password=password_and_token,
                                    client_id=app.client_id, client_secret=app.client_secret, include_client_id=True,
                                    verify=app.verify, timeout=app.timeout)
    except Exception as exc:  # noqa: BLE001
        raise _oauth_error(exc, app.login_url) from exc
    return _grant_from(token)


@sensitive_variables()
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
    hosts.guard(app.login_url, what="The login URL")
    try:
        response = requests.post(url, data=envelope.encode(), headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
                                 verify=app.verify, timeout=app.timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise _oauth_error(exc, url) from exc
    try:
        root = ElementTree.fromstring(response.content)
    except (ElementTree.ParseError, ValueError, DefusedXmlException):
        # Not a SOAP answer at all (an HTML page, a proxy's error): say so, never show it.
        raise _unexpected(response.status_code, "SOAP login endpoint") from None

    def text(tag: str) -> str:
        node = root.find(f".//{{*}}{tag}")
        return (node.text or "") if node is not None else ""
    if response.status_code != 200:
        code = _safe_code(text("exceptionCode"), "INVALID_LOGIN" if text("faultstring") else "UNEXPECTED_RESPONSE")
        if code == "UNEXPECTED_RESPONSE":
            raise SalesforceAuthError(code, _summary(response.status_code, "SOAP login endpoint"), status=response.status_code)
        message = _safe_text(text("exceptionMessage")) or _safe_text(text("faultstring")) or "Salesforce refused the login."
        raise SalesforceAuthError(code, message, status=response.status_code)
    server_url, session_id = text("serverUrl"), text("sessionId")
    if not server_url or not session_id:
        raise SalesforceAuthError("UNEXPECTED_RESPONSE", _summary(response.status_code, "SOAP login endpoint"), status=response.status_code)
    parsed = urlparse(server_url)
    instance_url = f"{parsed.scheme}://{parsed.netloc}"
    # serverUrl decides where every later call goes: the same rules as the login URL.
    hosts.guard(instance_url, what="The server URL in Salesforce's login answer")
    org_id, user_id = text("organizationId"), text("userId")
    return TokenGrant(access_token=session_id, instance_url=instance_url,
                      id_url=f"{app.login_url.rstrip('/')}/id/{org_id}/{user_id}")


def revoke(app: OAuthApp, *, token: str) -> None:
    """Revoke a refresh or access token. Raises SalesforceError if Salesforce refuses."""
    url = app.endpoint("revoke")
    hosts.guard(app.login_url, what="The login URL")
    try:
        response = requests.post(url, data={"token": token}, verify=app.verify, timeout=app.timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise _oauth_error(exc, url) from exc
    if response.status_code >= 400:
        raise SalesforceAuthError("revoke_failed", f"Salesforce answered HTTP {response.status_code} at the revoke endpoint.",
                                  status=response.status_code)


def userinfo(app: OAuthApp, *, instance_url: str, access_token: str) -> dict:
    url = f"{instance_url.rstrip('/')}/services/oauth2/userinfo"
    hosts.guard(instance_url, what="The instance URL")
    try:
        response = requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, verify=app.verify, timeout=app.timeout,
                                allow_redirects=False)
    except requests.RequestException as exc:
        raise _oauth_error(exc, url) from exc
    if response.status_code == 401:
        raise SalesforceAuthError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or not isinstance(body, dict):
        raise SalesforceError("USERINFO_FAILED", _summary(response.status_code, "userinfo endpoint"), status=response.status_code)
    return body
