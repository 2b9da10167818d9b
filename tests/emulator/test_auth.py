"""SOAP login, OAuth flows, sessions and the identity endpoints."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

pytestmark = pytest.mark.emulator
CALLBACK = "http://127.0.0.1:8765/oauth/callback/"


class RedirectingSession(requests.Session):
    """simple-salesforce hard-wires https://login.salesforce.com for SOAP login: send it to
    the emulator instead (the documented way to use its username/password/token mode)."""

    def __init__(self, instance_url: str, ca_bundle: str):
        super().__init__()
        self.trust_env = False
        self.verify = ca_bundle
        self._instance = instance_url

    def request(self, method, url, *args, **kwargs):
        url = re.sub(r"^https://[a-z]+\.salesforce\.com", self._instance, url)
        return super().request(method, url, *args, **kwargs)


def test_simple_salesforce_soap_login(emulator_reset):
    creds = emulator_reset.demo
    sf = Salesforce(username=creds["username"], password=creds["password"],
                    security_token=creds["security_token"],
                    session=RedirectingSession(emulator_reset.instance_url,
                                               emulator_reset.ca_bundle))
    assert sf.sf_instance == emulator_reset.instance_url.removeprefix("https://")
    result = sf.query("SELECT Id, Name FROM Organization")
    assert result["records"][0]["Id"] == creds["org_id"]
    assert sf.api_usage["api-usage"].total == 5000


def test_soap_login_fault_matches_fixture_shape(emulator_reset):
    session = emulator_reset.http_session()
    body = ('<?xml version="1.0"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/'
            'envelope/" xmlns:n1="urn:partner.soap.sforce.com"><env:Body><n1:login>'
            '<n1:username>nobody@example.com</n1:username><n1:password>x</n1:password>'
            '</n1:login></env:Body></env:Envelope>')
    response = session.post(f"{emulator_reset.instance_url}/services/Soap/u/59.0", data=body,
                            headers={"Content-Type": "text/xml", "SOAPAction": "login"})
    assert response.status_code == 500
    assert "<faultcode>sf:INVALID_LOGIN</faultcode>" in response.text
    assert "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>" in response.text
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(username="nobody@example.com", password="x", security_token="y",
                   session=RedirectingSession(emulator_reset.instance_url,
                                              emulator_reset.ca_bundle))


def _authorize(handle, org="demo", verifier=None, state="xyz"):
    creds = handle.creds(org)
    verifier = verifier or secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": creds["client_id"],
              "redirect_uri": CALLBACK, "state": state, "code_challenge": challenge,
              "code_challenge_method": "S256"}
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(f"{handle.http_url}/services/oauth2/authorize", params=params)
    assert page.status_code == 200 and "Log In" in page.text
    form = dict(params, username=creds["admin"]["username"], pw=creds["admin"]["password"],
                action="allow")
    response = browser.post(f"{handle.http_url}/services/oauth2/authorize", data=form,
                            allow_redirects=False)
    assert response.status_code == 302
    query = parse_qs(urlparse(response.headers["Location"]).query)
    return query, verifier


def test_authorization_code_pkce_refresh_and_revoke(emulator_reset):
    handle = emulator_reset
    creds = handle.demo
    query, verifier = _authorize(handle)
    assert query["state"] == ["xyz"]
    token_url = f"{handle.http_url}/services/oauth2/token"
    bad = requests.post(token_url, data={"grant_type": "authorization_code",
                                         "code": query["code"][0],
                                         "client_id": creds["client_id"],
                                         "redirect_uri": CALLBACK, "code_verifier": "wrong"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    query, verifier = _authorize(handle)
    response = requests.post(token_url, data={
        "grant_type": "authorization_code", "code": query["code"][0],
        "client_id": creds["client_id"], "client_secret": creds["client_secret"],
        "redirect_uri": CALLBACK, "code_verifier": verifier})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["instance_url"] == handle.instance_url
    assert re.match(r"^00D\w{12,15}![.\w]*$", body["access_token"])
    assert body["id"].endswith(f"/id/{creds['org_id']}/{creds['admin']['id']}")
    assert {"refresh_token", "signature", "issued_at", "token_type"} <= set(body)
    api = handle.session(token=body["access_token"])
    assert api.get(f"{handle.api()}/limits").status_code == 200
    # A code is single use.
    again = requests.post(token_url, data={
        "grant_type": "authorization_code", "code": query["code"][0],
        "client_id": creds["client_id"], "client_secret": creds["client_secret"],
        "redirect_uri": CALLBACK, "code_verifier": verifier})
    assert again.json() == {"error": "invalid_grant",
                            "error_description": "invalid authorization code"}
    refreshed = requests.post(token_url, data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "client_id": creds["client_id"], "client_secret": creds["client_secret"]})
    assert refreshed.status_code == 200 and "refresh_token" not in refreshed.json()
    new_token = refreshed.json()["access_token"]
    assert handle.session(token=new_token).get(f"{handle.api()}/limits").status_code == 200
    revoke = requests.post(f"{handle.http_url}/services/oauth2/revoke",
                           data={"token": body["refresh_token"]})
    assert revoke.status_code == 200
    denied = handle.session(token=new_token).get(f"{handle.api()}/limits")
    assert denied.status_code == 401
    assert denied.json() == [{"message": "Session expired or invalid",
                              "errorCode": "INVALID_SESSION_ID"}]
    after = requests.post(token_url, data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "client_id": creds["client_id"], "client_secret": creds["client_secret"]})
    assert after.status_code == 400
    assert after.json() == {"error": "invalid_grant",
                            "error_description": "expired access/refresh token"}


def test_authorize_errors_redirect_or_show_page(emulator_reset):
    handle = emulator_reset
    creds = handle.demo
    browser = requests.Session()
    browser.trust_env = False
    url = f"{handle.http_url}/services/oauth2/authorize"
    deny = browser.post(url, data={"response_type": "code", "client_id": creds["client_id"],
                                   "redirect_uri": CALLBACK, "state": "s1", "action": "deny"},
                        allow_redirects=False)
    assert deny.status_code == 302
    assert parse_qs(urlparse(deny.headers["Location"]).query)["error"] == ["access_denied"]
    wrong = browser.post(url, data={"response_type": "code", "client_id": creds["client_id"],
                                    "redirect_uri": CALLBACK, "username": "x", "pw": "y",
                                    "action": "allow"}, allow_redirects=False)
    assert wrong.status_code == 401 and "check your username and password" in wrong.text
    bad_redirect = browser.get(url, params={"response_type": "code",
                                            "client_id": creds["client_id"],
                                            "redirect_uri": "https://evil.example.com/cb"})
    assert bad_redirect.status_code == 400 and "redirect_uri_mismatch" in bad_redirect.text
    bad_type = browser.get(url, params={"response_type": "token", "client_id": creds["client_id"],
                                        "redirect_uri": CALLBACK}, allow_redirects=False)
    assert "error=unsupported_response_type" in bad_type.headers["Location"]


def test_client_credentials_and_password_grants(emulator_reset):
    handle = emulator_reset
    token_url = f"{handle.http_url}/services/oauth2/token"
    demo, sandbox = handle.demo, handle.sandbox
    cc = requests.post(token_url, data={"grant_type": "client_credentials",
                                        "client_id": demo["client_id"],
                                        "client_secret": demo["client_secret"]})
    assert cc.status_code == 200 and "refresh_token" not in cc.json()
    assert cc.json()["id"].endswith(demo["user_id"])
    bad_secret = requests.post(token_url, data={"grant_type": "client_credentials",
                                                "client_id": demo["client_id"],
                                                "client_secret": "nope"})
    assert bad_secret.json() == {"error": "invalid_client",
                                 "error_description": "invalid client credentials"}
    pw = requests.post(token_url, data={
        "grant_type": "password", "client_id": demo["client_id"],
        "client_secret": demo["client_secret"], "username": demo["username"],
        "password": demo["password"] + demo["security_token"]})
    assert pw.status_code == 200, pw.text
    wrong = requests.post(token_url, data={
        "grant_type": "password", "client_id": demo["client_id"],
        "client_secret": demo["client_secret"], "username": demo["username"],
        "password": "wrong"})
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant", "error_description": "authentication failure"}
    refused = requests.post(token_url, data={
        "grant_type": "password", "client_id": sandbox["client_id"],
        "client_secret": sandbox["client_secret"], "username": sandbox["username"],
        "password": sandbox["password"] + sandbox["security_token"]})
    assert refused.status_code == 400


def test_userinfo_identity_and_resources(emulator_reset):
    handle = emulator_reset
    creds = handle.demo
    session = handle.session()
    info = session.get(f"{handle.instance_url}/services/oauth2/userinfo").json()
    assert info["user_id"] == creds["user_id"]
    assert info["organization_id"] == creds["org_id"]
    assert info["preferred_username"] == creds["username"]
    ident = session.get(info["sub"]).json()
    assert ident["username"] == creds["username"]
    assert ident["urls"]["rest"].endswith("/services/data/v{version}/")
    versions = session.get(f"{handle.instance_url}/services/data/").json()
    assert {"label", "url", "version"} <= set(versions[-1])
    resources = session.get(f"{handle.api()}/").json()
    assert {"sobjects", "query", "queryAll", "identity", "limits", "composite",
            "jobs/ingest", "jobs/query", "tooling"} <= set(resources)
    assert session.get(f"{handle.instance_url}/services/oauth2/userinfo",
                       headers={"Authorization": "Bearer nope"}).status_code == 403


def test_expired_and_unknown_sessions(emulator_reset):
    handle = emulator_reset
    token = handle.token("demo")
    sf = handle.sf(token=token)
    assert sf.query("SELECT Id FROM Account")["totalSize"] >= 1
    handle.client.expire_token(token)
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")
    response = handle.session(token="00D000000000000!garbage").get(f"{handle.api()}/sobjects")
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid",
                                "errorCode": "INVALID_SESSION_ID"}]
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
