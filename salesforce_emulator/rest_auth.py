"""Authentication endpoints: SOAP partner login, OAuth 2.0 (authorize, token, revoke,
userinfo) and the identity URL."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlencode, urlparse
from xml.sax.saxutils import escape

import defusedxml.ElementTree as ET
from werkzeug.wrappers import Response

from . import clock
from .http import Call, json_response
from .pages import esc, fill, page

LOGIN_FAILED = ("Please check your username and password. If you still can't log in, contact "
                "your Salesforce administrator.")
SOAP_FAULT = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
              'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
              'xmlns:sf="urn:fault.partner.soap.sforce.com" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
              '<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{short}: {message}'
              '</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>'
              '{short}</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage>'
              '</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>')
INVALID_LOGIN_MSG = "Invalid username, password, security token; or user locked out."


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


# -- identity helpers ------------------------------------------------------------------------
def identity_url(call: Call, rt, user) -> str:
    return f"{call.emu.instance_url}/id/{rt.org.org_id}/{user.id}"


def _urls(call: Call, rt, user) -> dict[str, str]:
    inst, org_id = call.emu.instance_url, rt.org.org_id
    return {
        "enterprise": f"{inst}/services/Soap/c/{{version}}/{org_id}",
        "metadata": f"{inst}/services/Soap/m/{{version}}/{org_id}",
        "partner": f"{inst}/services/Soap/u/{{version}}/{org_id}",
        "rest": f"{inst}/services/data/v{{version}}/",
        "sobjects": f"{inst}/services/data/v{{version}}/sobjects/",
        "search": f"{inst}/services/data/v{{version}}/search/",
        "query": f"{inst}/services/data/v{{version}}/query/",
        "recent": f"{inst}/services/data/v{{version}}/recent/",
        "tooling_soap": f"{inst}/services/Soap/T/{{version}}/{org_id}",
        "tooling_rest": f"{inst}/services/data/v{{version}}/tooling/",
        "profile": f"{inst}/{user.id}",
        "feeds": f"{inst}/services/data/v{{version}}/chatter/feeds",
        "groups": f"{inst}/services/data/v{{version}}/chatter/groups",
        "users": f"{inst}/services/data/v{{version}}/chatter/users",
        "feed_items": f"{inst}/services/data/v{{version}}/chatter/feed-items",
        "feed_elements": f"{inst}/services/data/v{{version}}/chatter/feed-elements",
        "custom_domain": inst,
    }


def token_body(call: Call, rt, user, access, refresh=None, secret: str = "") -> dict[str, Any]:
    from .auth import signature
    issued = str(int(access.issued * 1000))
    ident = identity_url(call, rt, user)
    body: dict[str, Any] = {"access_token": access.token}
    if refresh is not None:
        body["refresh_token"] = refresh.token
    body.update(signature=signature(ident, issued, secret or rt.org.org_id),
                scope="refresh_token api full" if refresh is not None else "api full",
                instance_url=call.emu.instance_url, id=ident, token_type="Bearer",
                issued_at=issued)
    return body


def _credentials_ok(user, password: str, with_token: bool) -> bool:
    expected = user.password + (user.security_token if with_token else "")
    return password == expected


# -- SOAP ------------------------------------------------------------------------------------
def soap_fault(short: str, message: str) -> Response:
    body = SOAP_FAULT.format(code=f"sf:{short}", short=short, message=escape(message))
    return Response(body, status=500, content_type="text/xml;charset=UTF-8")


def user_info(rt, user) -> dict[str, str | None]:
    """The partner API's GetUserInfoResult (login's userInfo and getUserInfo), WSDL order."""
    org = rt.org
    profile = org.profiles[user.profile]
    return {
        "accessibilityMode": "false", "chatterExternal": "false", "currencySymbol": "$",
        "orgAttachmentFileSizeLimit": "5242880", "orgDefaultCurrencyIsoCode": "USD",
        "orgDefaultCurrencyLocale": org.organization.get("DefaultLocaleSidKey", "en_US"),
        "orgDisallowHtmlAttachments": "false", "orgHasPersonAccounts": "false",
        "organizationId": org.org_id, "organizationMultiCurrency": "false",
        "organizationName": org.organization.get("Name", org.name), "profileId": profile.id,
        "roleId": None, "sessionSecondsValid": str(rt.access_token_seconds),
        "userDefaultCurrencyIsoCode": None, "userEmail": user.email,
        "userFullName": f"{user.first_name} {user.last_name}".strip(), "userId": user.id,
        "userLanguage": "en_US", "userLocale": org.organization.get("DefaultLocaleSidKey", "en_US"),
        "userName": user.username,
        "userTimeZone": org.organization.get("TimeZoneSidKey", "GMT"), "userType": "Standard",
        "userUiSkin": "Theme3",
    }


def soap_login(call: Call, soap_version: str):
    try:
        major = float(soap_version)
    except ValueError:
        return soap_fault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL")
    if major >= 65.0 or major < 20.0:
        return soap_fault("UNSUPPORTED_API_VERSION",
                          "login() is not available in this API version")
    try:
        root = ET.fromstring(call.request.get_data())
    except ET.ParseError:
        return soap_fault("INVALID_LOGIN", INVALID_LOGIN_MSG)
    values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
    username, password = values.get("username", ""), values.get("password", "")
    found = call.emu.org_of_user(username)
    if not found or not _credentials_ok(found[1], password, True):
        return soap_fault("INVALID_LOGIN", INVALID_LOGIN_MSG)
    rt, user = found
    if not rt.org.soap_login:
        return soap_fault("API_DISABLED_FOR_ORG", "API is disabled for this organization")
    call.rt = rt
    session = call.emu.tokens.issue_access(rt.org.name, rt.org.org_id15, user.id,
                                           rt.access_token_seconds)
    inst = call.emu.instance_url
    org = rt.org
    info = user_info(rt, user)
    info_xml = "".join(f"<{k} xsi:nil=\"true\"/>" if v is None else f"<{k}>{escape(v)}</{k}>"
                       for k, v in info.items())
    sandbox = "true" if org.is_sandbox else "false"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{inst}/services/Soap/m/{soap_version}/{org.org_id15}"
        "</metadataServerUrl><passwordExpired>false</passwordExpired>"
        f"<sandbox>{sandbox}</sandbox>"
        f"<serverUrl>{inst}/services/Soap/u/{soap_version}/{org.org_id15}</serverUrl>"
        f"<sessionId>{escape(session.token)}</sessionId><userId>{user.id}</userId>"
        f"<userInfo>{info_xml}</userInfo></result></loginResponse></soapenv:Body>"
        "</soapenv:Envelope>")
    return Response(body, status=200, content_type="text/xml;charset=UTF-8")


# -- OAuth authorize -------------------------------------------------------------------------
LOOPBACK_RE = re.compile(r"^http://(127\.0\.0\.1|localhost)(:\d+)?(/.*)?$")


def callback_allowed(app, redirect_uri: str) -> bool:
    if redirect_uri in app.callback_urls:
        return True
    return bool(LOOPBACK_RE.match(redirect_uri or ""))


def _redirect(uri: str, params: dict[str, str]) -> Response:
    sep = "&" if urlparse(uri).query else "?"
    return Response(status=302, headers={"Location": f"{uri}{sep}{urlencode(params)}",
                                         "Cache-Control": "no-store"})


AUTH_PARAMS = ("response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge",
               "code_challenge_method", "prompt", "login_hint", "nonce")


def authorize(call: Call):
    req = call.request
    params = req.form if req.method == "POST" else req.args
    client_id = params.get("client_id", "")
    found = call.emu.org_of_client(client_id)
    if not found:
        return page("Error", "Salesforce", '<div class="card"><div class="body"><p class="error">'
                    "error=invalid_client_id&amp;error_description=client identifier invalid"
                    "</p></div></div>", 400)
    rt, app = found
    redirect_uri = params.get("redirect_uri", "")
    if not callback_allowed(app, redirect_uri):
        return page("Error", rt.org.organization.get("Name", rt.org.name),
                    '<div class="card"><div class="body"><p class="error">error=redirect_uri_mismatch'
                    "&amp;error_description=redirect_uri must match configuration</p></div></div>",
                    400)
    state = params.get("state")
    extra = {"state": state} if state else {}
    if params.get("response_type") != "code" or "authorization_code" not in app.grants:
        return _redirect(redirect_uri, {"error": "unsupported_response_type",
                                        "error_description": "response type not supported",
                                        **extra})
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and method and method not in ("S256", "plain"):
        return _redirect(redirect_uri, {"error": "invalid_request",
                                        "error_description": "invalid code_challenge_method",
                                        **extra})
    org_name = rt.org.organization.get("Name", rt.org.name)
    error_html = ""
    username = params.get("login_hint", "")
    if req.method == "POST":
        if params.get("action") == "deny":
            return _redirect(redirect_uri, {"error": "access_denied",
                                            "error_description": "end-user denied authorization",
                                            **extra})
        username = params.get("username", "")
        user = rt.org.user_by_username(username)
        if user is not None and _credentials_ok(user, params.get("pw", ""), False):
            code = call.emu.tokens.new_code(rt.org.name, user.id, client_id, redirect_uri,
                                            params.get("code_challenge"), method)
            return _redirect(redirect_uri, {"code": code, **extra})
        error_html = f'<div class="error">{esc(LOGIN_FAILED)}</div>'
    hidden = "".join(f'<input type="hidden" name="{k}" value="{esc(params.get(k))}">'
                     for k in AUTH_PARAMS if params.get(k))
    content = fill("login.html", app_name=esc(app.name), error=error_html, hidden=hidden,
                   username=esc(username))
    return page(f"Login | {org_name}", org_name, content, 401 if error_html else 200)


# -- OAuth token -----------------------------------------------------------------------------
def _client(call: Call) -> tuple[str, str | None]:
    form = call.request.form
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    header = call.request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        except (ValueError, UnicodeDecodeError):
            pass
    return client_id, secret


def token(call: Call):
    form = call.request.form
    grant = form.get("grant_type", "")
    client_id, secret = _client(call)
    if grant not in ("authorization_code", "refresh_token", "client_credentials", "password"):
        return oauth_error("unsupported_grant_type", "grant type not supported")
    found = call.emu.org_of_client(client_id)
    if not found:
        return oauth_error("invalid_client_id", "client identifier invalid")
    rt, app = found
    call.rt = rt
    if grant not in app.grants and not (grant == "refresh_token"
                                        and "authorization_code" in app.grants):
        return oauth_error("unsupported_grant_type", "grant type not supported")
    tokens = call.emu.tokens
    secret_ok = secret == app.client_secret

    if grant == "authorization_code":
        code = tokens.take_code(form.get("code", ""))
        if code is None or code.client_id != client_id:
            return oauth_error("invalid_grant", "invalid authorization code")
        if secret is not None and not secret_ok:
            return oauth_error("invalid_client", "invalid client credentials")
        if secret is None and not code.challenge:
            return oauth_error("invalid_client", "invalid client credentials")
        if form.get("redirect_uri") != code.redirect_uri:
            return oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        from .auth import pkce_ok
        if not pkce_ok(code.challenge, code.method, form.get("code_verifier")):
            return oauth_error("invalid_grant", "invalid code verifier")
        user = rt.org.user_by_id(code.user_id)
        refresh = tokens.issue_refresh(rt.org.name, rt.org.org_id15, user.id, client_id)
        access = tokens.issue_access(rt.org.name, rt.org.org_id15, user.id,
                                     rt.access_token_seconds, client_id, refresh.token)
        return json_response(token_body(call, rt, user, access, refresh, app.client_secret))

    if grant == "refresh_token":
        session = tokens.validate(form.get("refresh_token", ""), kind="refresh")
        if session is None or session.client_id != client_id:
            return oauth_error("invalid_grant", "expired access/refresh token")
        if secret is not None and not secret_ok:
            return oauth_error("invalid_client", "invalid client credentials")
        user = rt.org.user_by_id(session.user_id)
        access = tokens.issue_access(rt.org.name, rt.org.org_id15, user.id,
                                     rt.access_token_seconds, client_id, session.token)
        return json_response(token_body(call, rt, user, access, None, app.client_secret))

    if not secret_ok:
        return oauth_error("invalid_client", "invalid client credentials")

    if grant == "client_credentials":
        user = rt.org.user_by_username(app.run_as) if app.run_as else None
        if user is None:
            return oauth_error("invalid_grant", "no client credentials user enabled")
        access = tokens.issue_access(rt.org.name, rt.org.org_id15, user.id,
                                     rt.access_token_seconds, client_id)
        return json_response(token_body(call, rt, user, access, None, app.client_secret))

    # password grant: only where the org still allows the username-password flow
    user = rt.org.user_by_username(form.get("username", ""))
    if not rt.password_grant or user is None or not _credentials_ok(
            user, form.get("password", ""), True):
        return oauth_error("invalid_grant", "authentication failure")
    access = tokens.issue_access(rt.org.name, rt.org.org_id15, user.id, rt.access_token_seconds,
                                 client_id)
    return json_response(token_body(call, rt, user, access, None, app.client_secret))


def revoke(call: Call):
    value = call.request.form.get("token") or call.request.args.get("token", "")
    if not value or not call.emu.tokens.revoke(value):
        return oauth_error("invalid_token", "invalid token")
    return Response(status=200)


def _bearer_session(call: Call):
    header = call.request.headers.get("Authorization", "")
    value = header.split(" ", 1)[1].strip() if " " in header else \
        call.request.args.get("oauth_token", "")
    session = call.emu.tokens.validate(value) if value else None
    if session is None:
        return None
    rt = call.emu.orgs.get(session.org)
    user = rt.org.user_by_id(session.user_id) if rt else None
    if user is None:
        return None
    call.rt = rt
    return rt, user


def _offset_ms(tz: str) -> int:
    try:
        from zoneinfo import ZoneInfo
        offset = clock.now().astimezone(ZoneInfo(tz)).utcoffset()
        return int(offset.total_seconds() * 1000) if offset else 0
    except Exception:  # noqa: BLE001 - unknown zone names fall back to UTC
        return 0


def userinfo(call: Call):
    found = _bearer_session(call)
    if found is None:
        return Response("Bad_OAuth_Token", status=403, content_type="text/plain")
    rt, user = found
    tz = rt.org.organization.get("TimeZoneSidKey", "GMT")
    inst = call.emu.instance_url
    return json_response({
        "sub": identity_url(call, rt, user), "user_id": user.id,
        "organization_id": rt.org.org_id, "preferred_username": user.username,
        "nickname": user.alias, "name": f"{user.first_name} {user.last_name}".strip(),
        "email": user.email, "email_verified": True, "given_name": user.first_name,
        "family_name": user.last_name, "zoneinfo": tz,
        "photos": {"picture": f"{inst}/profilephoto/005/F", "thumbnail": f"{inst}/profilephoto/005/T"},
        "profile": f"{inst}/{user.id}", "picture": f"{inst}/profilephoto/005/F",
        "address": {"country": rt.org.organization.get("Country")},
        "is_salesforce_integration_user": False, "urls": _urls(call, rt, user), "active": True,
        "user_type": "STANDARD", "language": "en_US",
        "locale": rt.org.organization.get("DefaultLocaleSidKey", "en_US"),
        "utcOffset": _offset_ms(tz), "updated_at": clock.sf_datetime().replace(".000+0000", "Z"),
        "is_app_installed": True,
    })


def identity(call: Call, org_id: str, user_id: str):
    found = _bearer_session(call)
    if found is None:
        return Response("Bad_OAuth_Token", status=403, content_type="text/plain")
    rt, caller = found
    if org_id[:15] != rt.org.org_id15:
        return Response("Bad_Id", status=403, content_type="text/plain")
    user = next((u for u in rt.org.users if u.id[:15] == user_id[:15]), None)
    if user is None:
        return Response("Bad_Id", status=404, content_type="text/plain")
    tz = rt.org.organization.get("TimeZoneSidKey", "GMT")
    inst = call.emu.instance_url
    return json_response({
        "id": identity_url(call, rt, user), "asserted_user": user.id == caller.id,
        "user_id": user.id, "organization_id": rt.org.org_id, "username": user.username,
        "nick_name": user.alias, "display_name": f"{user.first_name} {user.last_name}".strip(),
        "email": user.email, "email_verified": True, "first_name": user.first_name,
        "last_name": user.last_name, "timezone": tz,
        "photos": {"picture": f"{inst}/profilephoto/005/F", "thumbnail": f"{inst}/profilephoto/005/T"},
        "addr_street": None, "addr_city": None, "addr_state": None,
        "addr_country": rt.org.organization.get("Country"), "addr_zip": None,
        "mobile_phone": None, "mobile_phone_verified": False, "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None}, "urls": _urls(call, rt, user),
        "active": True, "user_type": "STANDARD", "language": "en_US",
        "locale": rt.org.organization.get("DefaultLocaleSidKey", "en_US"),
        "utcOffset": _offset_ms(tz), "last_modified_date": clock.sf_datetime(),
        "is_app_installed": True,
    })


def register(router) -> None:
    from .soap_partner import endpoint
    # login, and the session calls (logout, getUserInfo, …) at the login result's serverUrl
    router.add("/services/Soap/u/<soap_version>", ["POST"], endpoint, auth="none",
               operation="login", name="soap")
    router.add("/services/Soap/u/<soap_version>/<org_id>", ["POST"], endpoint, auth="none",
               operation="login", name="soap_server_url")
    router.add("/services/oauth2/authorize", ["GET", "POST"], authorize, auth="none",
               operation="login")
    router.add("/services/oauth2/token", ["POST"], token, auth="none", operation="token")
    router.add("/services/oauth2/revoke", ["POST", "GET"], revoke, auth="none",
               operation="token")
    router.add("/services/oauth2/userinfo", ["GET", "POST"], userinfo, auth="none",
               operation="token")
    router.add("/id/<org_id>/<user_id>", ["GET", "POST"], identity, auth="none",
               operation="token")
