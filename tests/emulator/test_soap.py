"""The SOAP partner endpoint beyond login: logout, getUserInfo, getServerTimestamp and
describeGlobal with a SessionHeader, Salesforce's faults for an invalid session and for calls
the emulator does not serve (never INVALID_LOGIN), and API usage counted for session calls."""

from __future__ import annotations

from datetime import datetime, timezone

import defusedxml.ElementTree as ET
import pytest

pytestmark = pytest.mark.emulator

NS = {"env": "http://schemas.xmlsoap.org/soap/envelope/", "p": "urn:partner.soap.sforce.com",
      "sf": "urn:fault.partner.soap.sforce.com"}


def _envelope(operation: str, session_id: str | None = None, inner: str = "") -> str:
    header = (f'<env:Header><p:SessionHeader><p:sessionId>{session_id}</p:sessionId>'
              "</p:SessionHeader></env:Header>" if session_id is not None else "")
    return ('<?xml version="1.0" encoding="UTF-8"?><env:Envelope '
            'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:p="urn:partner.soap.sforce.com">{header}<env:Body><p:{operation}>{inner}'
            f"</p:{operation}></env:Body></env:Envelope>")


def _post(handle, url: str, body: str):
    return handle.http_session().post(url, data=body.encode(),
                                      headers={"Content-Type": "text/xml", "SOAPAction": '""'})


def _login(handle) -> tuple[str, str]:
    creds = handle.demo
    inner = (f"<p:username>{creds['username']}</p:username><p:password>{creds['password']}"
             f"{creds['security_token']}</p:password>")
    answer = _post(handle, f"{handle.instance_url}/services/Soap/u/59.0", _envelope("login",
                                                                                    inner=inner))
    assert answer.status_code == 200, answer.text
    result = ET.fromstring(answer.content).find(".//p:loginResponse/p:result", NS)
    return result.find("p:serverUrl", NS).text, result.find("p:sessionId", NS).text


def _fault(answer) -> tuple[str, str, str | None]:
    assert answer.status_code == 500, answer.text
    assert answer.headers["Content-Type"].startswith("text/xml")
    fault = ET.fromstring(answer.content).find(".//env:Fault", NS)
    code = fault.find("faultcode").text
    string = fault.find("faultstring").text
    exception = fault.find(".//sf:exceptionCode", NS)
    return code, string, exception.text if exception is not None else None


def test_session_calls_at_the_server_url(emulator_reset):
    handle = emulator_reset
    server_url, session_id = _login(handle)
    assert server_url.startswith(f"{handle.instance_url}/services/Soap/u/59.0/00D")
    used = handle.client.limits("demo")["used"]

    info = _post(handle, server_url, _envelope("getUserInfo", session_id))
    assert info.status_code == 200, info.text
    result = ET.fromstring(info.content).find(".//p:getUserInfoResponse/p:result", NS)
    assert result.find("p:userName", NS).text == handle.demo["username"]
    assert result.find("p:organizationId", NS).text == handle.demo["org_id"]
    assert result.find("p:userId", NS).text == handle.demo["user_id"]
    assert [el.tag.split("}")[1] for el in result][:3] == ["accessibilityMode", "chatterExternal",
                                                           "currencySymbol"]

    stamp = _post(handle, server_url, _envelope("getServerTimestamp", session_id))
    text = ET.fromstring(stamp.content).find(".//p:getServerTimestampResponse/p:result/"
                                             "p:timestamp", NS).text
    handle.client.advance_clock(0)
    server_time = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert abs((server_time - datetime.now(timezone.utc)).total_seconds()) < 60

    described = _post(handle, server_url, _envelope("describeGlobal", session_id))
    result = ET.fromstring(described.content).find(".//p:describeGlobalResponse/p:result", NS)
    assert result.find("p:encoding", NS).text == "UTF-8"
    assert result.find("p:maxBatchSize", NS).text == "200"
    sobjects = {s.find("p:name", NS).text: s for s in result.findall("p:sobjects", NS)}
    assert sobjects["Account"].find("p:keyPrefix", NS).text == "001"
    assert sobjects["Opportunity"].find("p:createable", NS).text == "true"
    assert "Lead" not in sobjects  # not readable by the integration profile
    first = [el.tag.split("}")[1] for el in sobjects["Account"]]
    assert first[0] == "activateable" and first[-1] == "updateable"
    rest_names = {o["name"] for o in handle.session().get(f"{handle.api()}/sobjects").json()[
        "sobjects"]}
    assert set(sobjects) == rest_names
    # three session calls, three API calls (login is free)
    assert handle.client.limits("demo")["used"] - used == 3 + 1  # + the REST describeGlobal


def test_logout_invalidates_the_session(emulator_reset):
    handle = emulator_reset
    server_url, session_id = _login(handle)
    rest = handle.session(token=session_id)
    assert rest.get(f"{handle.api()}/limits").status_code == 200
    answer = _post(handle, f"{handle.instance_url}/services/Soap/u/59.0",
                   _envelope("logout", session_id))
    assert answer.status_code == 200, answer.text
    assert ET.fromstring(answer.content).find(".//p:logoutResponse", NS) is not None
    assert rest.get(f"{handle.api()}/limits").status_code == 401
    code, string, exception = _fault(_post(handle, server_url,
                                           _envelope("getUserInfo", session_id)))
    assert code == "sf:INVALID_SESSION_ID" and exception == "INVALID_SESSION_ID"
    assert string.startswith("INVALID_SESSION_ID: ")


@pytest.mark.parametrize("session_id", [None, "", "00D000000000000!garbage"])
def test_invalid_session_is_invalid_session_id_not_invalid_login(emulator_reset, session_id):
    handle = emulator_reset
    for operation in ("getUserInfo", "logout", "query"):
        code, _string, exception = _fault(_post(
            handle, f"{handle.instance_url}/services/Soap/u/59.0",
            _envelope(operation, session_id)))
        assert code == "sf:INVALID_SESSION_ID" and exception == "INVALID_SESSION_ID", operation


def test_unsupported_calls_answer_salesforce_faults_never_an_auth_error(emulator_reset):
    handle = emulator_reset
    server_url, session_id = _login(handle)
    code, string, exception = _fault(_post(handle, server_url, _envelope(
        "query", session_id, "<p:queryString>SELECT Id FROM Account</p:queryString>")))
    assert code == "sf:INVALID_OPERATION" and exception == "INVALID_OPERATION"
    assert "query()" in string
    code, string, exception = _fault(_post(handle, server_url, _envelope("frobnicate",
                                                                         session_id)))
    assert code == "soapenv:Client" and exception is None
    assert string == ("No operation available for request {urn:partner.soap.sforce.com}"
                      "frobnicate, please check the WSDL for the service.")
    code, _string, _exception = _fault(_post(handle, server_url, "<not-xml"))
    assert code == "soapenv:Client"
    code, _string, _exception = _fault(_post(handle, server_url, "<a><b/></a>"))
    assert code == "soapenv:Client"
    # the session still works: none of these was taken for a login failure
    assert handle.session(token=session_id).get(f"{handle.api()}/limits").status_code == 200


def test_soap_calls_over_the_limit_are_refused_and_counted(emulator_reset):
    handle = emulator_reset
    server_url, session_id = _login(handle)
    handle.client.exhaust_api("demo")
    allowance = handle.client.limits("demo")["allowance"]
    answer = _post(handle, server_url, _envelope("getServerTimestamp", session_id))
    code, _string, exception = _fault(answer)
    assert code == "sf:REQUEST_LIMIT_EXCEEDED" and exception == "REQUEST_LIMIT_EXCEEDED"
    assert answer.headers["Sforce-Limit-Info"] == f"api-usage={allowance + 1}/{allowance}"
