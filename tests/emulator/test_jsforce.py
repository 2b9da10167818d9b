"""jsforce 3 (from npm, unchanged) against the emulator: logins, CRUD, upsert, query paging, Bulk 2.0.

Each test runs a script of tests/clients/ under Node 22 with NODE_EXTRA_CA_CERTS set to the
emulator's CA and checks the result from the Python side over plain REST, so a broken emulator
fails here the way it would fail a real jsforce user.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.emulator.conftest_clients import (  # noqa: F401  (fixtures)
    CLIENTS_DIR,
    browser_authorize,
    client_env,
    client_home,
    client_tools,
    emu_org,
    fresh_demo_org,
    js_env,
    last_json_line,
    rest,
    run_js,
)

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(300), pytest.mark.usefixtures("fresh_demo_org")]

TOKEN_RE = re.compile(r"^(00D\w{12,15})![.\w]*$")  # what the sf CLI accepts as an access token


def _id15(value: str) -> str:
    return value[:15]


# ----------------------------------------------------------------------------------- logins


def _check_session(result: dict, emu_org) -> None:
    assert result["instanceUrl"] == emu_org.instance_url
    assert TOKEN_RE.match(result["accessToken"]), result["accessToken"]
    assert _id15(result["userInfo"]["id"]) == _id15(emu_org.user_id)
    assert _id15(result["userInfo"]["organizationId"]) == _id15(emu_org.org_id)
    assert result["identity"]["username"] == emu_org.username
    assert _id15(result["identity"]["user_id"]) == _id15(emu_org.user_id)
    assert [u["Username"] for u in result["user"]] == [emu_org.username]
    # jsforce parses Sforce-Limit-Info into limitInfo.apiUsage
    assert result["limitInfo"].get("apiUsage", {}).get("limit", 0) > 0, result["limitInfo"]


@pytest.mark.parametrize("login_url", ["https", "http"])
def test_soap_login(run_js, emu_org, login_url):
    """new Connection({loginUrl}).login(user, password + token) → loginBySoap, with the HTTPS
    login URL and with the loopback HTTP one; the session's instance URL is HTTPS either way."""
    url = emu_org.login_url if login_url == "https" else emu_org.http_login_url
    out = run_js("login.mjs", "soap", login=True, env={"EMU_LOGIN_URL": url})
    result = out.result
    assert result["sessionType"] == "soap"
    _check_session(result, emu_org)
    # the identity URL jsforce builds for SOAP sessions is loginUrl/id/<org>/<user>
    assert result["userInfo"]["url"].startswith(f"{url}/id/")


def test_soap_login_bad_password(run_js):
    out = run_js("login.mjs", "soap", login=True, env={"EMU_PASSWORD": "wrong-password"})
    # jsforce raises the SOAP fault's <faultstring>
    message = out.error["message"]
    assert "INVALID_LOGIN" in message or "Invalid username" in message, message


def test_soap_session_calls_and_logout(run_js, emu_org):
    """jsforce's partner SOAP calls on a SOAP session, then conn.logout() (SOAP `logout`): the
    session is invalid afterwards, for REST too."""
    out = run_js("login.mjs", "soap-calls", login=True)
    result = out.result
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", result["timestamp"]["timestamp"])
    info = result["userInfo"]
    assert info["userName"] == emu_org.username
    assert _id15(info["organizationId"]) == _id15(emu_org.org_id)
    assert info["sessionSecondsValid"] > 0 and info["accessibilityMode"] is False
    assert result["loggedOut"] is True
    assert result["afterLogout"] == {"errorCode": "INVALID_SESSION_ID", "name": "INVALID_SESSION_ID"}


def test_oauth_password_login(run_js, emu_org):
    """conn.login with oauth2 client id/secret → POST /services/oauth2/token grant_type=password."""
    out = run_js("login.mjs", "oauth-password", login=True)
    result = out.result
    assert result["sessionType"] == "oauth2"
    _check_session(result, emu_org)
    # jsforce splits the last two segments of the token response's `id` URL
    assert re.search(r"/id/00D\w{15}/005\w{15}$", result["userInfo"]["url"]), result["userInfo"]["url"]


def test_oauth_password_login_bad_password(run_js):
    out = run_js("login.mjs", "oauth-password", login=True, env={"EMU_PASSWORD": "wrong-password"})
    assert out.error["name"] == "invalid_grant", out.error
    assert out.error["message"] == "authentication failure", out.error


def test_oauth_authorization_code_with_pkce(client_tools, emu_org, client_home):
    """OAuth2({useVerifier: true}).getAuthorizationUrl → login page → code → conn.authorize(code)
    (with code_verifier), then the refresh_token grant."""
    env = client_env(client_tools, emu_org, client_home, **js_env(emu_org, login=True))
    proc = subprocess.Popen(
        [client_tools.node22, str(CLIENTS_DIR / "login.mjs"), "oauth-code"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=CLIENTS_DIR,
    )
    try:
        first = json.loads(proc.stdout.readline())
        url = first["authorizationUrl"]
        assert url.startswith(f"{emu_org.login_url}/services/oauth2/authorize?")
        assert "code_challenge=" in url and "state=" in url
        redirect = browser_authorize(url, emu_org, emu_org.redirect_uri, verify=emu_org.ca_bundle)
        assert "code=" in redirect, redirect
        stdout, stderr = proc.communicate(redirect + "\n", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    payload = last_json_line(stdout)
    assert proc.returncode == 0 and payload.get("ok"), f"{payload}\n{stderr[-3000:]}"
    result = payload["result"]
    _check_session(result, emu_org)
    assert result["hadRefreshToken"] is True
    assert result["refreshed"]["instanceUrl"] == emu_org.instance_url
    assert result["refreshed"]["userCount"] >= 1


# ----------------------------------------------------------------------------------- CRUD


def test_crud_account(run_js, rest):
    name = f"JSF CRUD {uuid.uuid4().hex[:10]}"
    created = run_js("sobject.mjs", "create", "Account", json.dumps({"Name": name, "Industry": "Government"})).result
    assert created["success"] is True and created["errors"] == []
    account_id = created["id"]
    assert re.fullmatch(r"001\w{15}", account_id), account_id

    # the Python side sees what jsforce created
    resp = rest.record("Account", account_id)
    assert resp.status_code == 200, resp.text
    assert resp.json()["Name"] == name

    got = run_js("sobject.mjs", "retrieve", "Account", account_id).result
    assert got["Id"] == account_id and got["Name"] == name and got["Industry"] == "Government"
    assert got["attributes"]["type"] == "Account"

    got = run_js("sobject.mjs", "retrieve", "Account", account_id, "Name,Industry").result
    assert got["Name"] == name

    updated = run_js("sobject.mjs", "update", "Account",
                     json.dumps({"Id": account_id, "Name": name + " (renamed)", "Industry": "Education"})).result
    assert updated == {"id": account_id, "success": True, "errors": []}
    body = rest.record("Account", account_id).json()
    assert body["Name"] == name + " (renamed)" and body["Industry"] == "Education"

    destroyed = run_js("sobject.mjs", "destroy", "Account", account_id).result
    assert destroyed == {"id": account_id, "success": True, "errors": []}
    assert rest.record("Account", account_id).status_code == 404

    gone = run_js("sobject.mjs", "retrieve", "Account", account_id)
    assert gone.error.get("errorCode") in ("NOT_FOUND", "ENTITY_IS_DELETED"), gone.error


def test_jsforce_update_of_many_records_uses_collections_with_lower_case_id(run_js, rest):
    """jsforce's update of an array sends PATCH /composite/sobjects with `id` (lower case)."""
    ids = []
    for name in ("JSF many 1", "JSF many 2"):
        ids.append(rest.session.post(f"{rest.base}/sobjects/Account",
                                     json={"Name": name}).json()["id"])
    out = run_js("sobject.mjs", "updateMany", "Account",
                 json.dumps([{"Id": i, "Name": f"renamed {n}"} for n, i in enumerate(ids)]))
    assert out.result == [{"id": i, "success": True, "errors": []} for i in ids], out.describe()
    assert [rest.record("Account", i).json()["Name"] for i in ids] == ["renamed 0", "renamed 1"]
    rest.delete_ids(ids)


def test_create_reports_required_field(run_js):
    out = run_js("sobject.mjs", "create", "Opportunity", json.dumps({"Name": "no stage, no close date"}))
    assert out.error.get("errorCode") == "REQUIRED_FIELD_MISSING", out.error


def test_upsert_opportunity_by_external_id(run_js, rest):
    ref = f"JSF-{uuid.uuid4().hex[:12]}"
    record = {"Cothon_Ref__c": ref, "Name": f"Upsert {ref}", "StageName": "Prospecting", "CloseDate": "2031-03-31"}
    first = run_js("sobject.mjs", "upsert", "Opportunity", "Cothon_Ref__c", json.dumps(record)).result
    assert first["success"] is True and first["created"] is True, first
    opp_id = first["id"]
    assert re.fullmatch(r"006\w{15}", opp_id), opp_id

    record.update(StageName="Proposal", Amount=125000)
    second = run_js("sobject.mjs", "upsert", "Opportunity", "Cothon_Ref__c", json.dumps(record)).result
    assert second == {"id": opp_id, "success": True, "errors": [], "created": False}

    rows = rest.query(f"SELECT Id, StageName, Amount, CloseDate FROM Opportunity WHERE Cothon_Ref__c = '{ref}'")
    assert rows["totalSize"] == 1
    row = rows["records"][0]
    assert row["Id"] == opp_id and row["StageName"] == "Proposal" and row["Amount"] == 125000
    assert row["CloseDate"] == "2031-03-31"
    rest.delete_ids([opp_id])


def test_describe_opportunity(run_js):
    result = run_js("sobject.mjs", "describe", "Opportunity").result
    assert result["name"] == "Opportunity"
    assert result["fields"]["Cothon_Ref__c"]["externalId"] is True
    assert result["fields"]["Cothon_Ref__c"]["length"] == 50
    assert result["fields"]["StageName"]["type"] == "picklist"


# ----------------------------------------------------------------------------------- query paging

PAGE_ROWS = 2100  # > 2,000: the REST query returns two pages


@pytest.fixture(scope="module")
def paged_accounts(run_js, rest):
    prefix = f"JSF-PAGE-{uuid.uuid4().hex[:8]}-"
    made = run_js("sobject.mjs", "createMany", "Account", str(PAGE_ROWS), prefix, timeout=300)
    yield prefix, made
    rest.delete_where(f"SELECT Id FROM Account WHERE Name LIKE '{prefix}%'")


def test_collections_create_2100(paged_accounts):
    _, made = paged_accounts
    result = made.result
    assert result["results"] == PAGE_ROWS and result["succeeded"] == PAGE_ROWS, result


def test_query_paging_with_query_more(paged_accounts, run_js, rest):
    prefix, made = paged_accounts
    made.result
    soql = f"SELECT Id, Name FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name"
    result = run_js("query.mjs", "manual", soql).result
    assert result["totalSize"] == PAGE_ROWS
    assert result["pages"] == [2000, PAGE_ROWS - 2000]
    assert result["distinctIds"] == PAGE_ROWS
    assert result["sample"][0]["Name"] == f"{prefix}00000"
    assert result["sample"][0]["attributes"]["type"] == "Account"
    # jsforce rebuilds the URL from the locator (the last segment) under its own API version
    assert re.search(r"/services/data/v50\.0/query/[\w-]+$", result["nextRecordsUrls"][0]), result["nextRecordsUrls"]
    # what the org itself answers: a path, /services/data/vXX.X/query/<locator>-2000
    raw = rest.query(soql)
    assert raw["totalSize"] == PAGE_ROWS and raw["done"] is False and len(raw["records"]) == 2000
    assert re.fullmatch(r"/services/data/v\d+\.0/query/[\w]+-2000", raw["nextRecordsUrl"]), raw["nextRecordsUrl"]


def test_query_autofetch(paged_accounts, run_js):
    prefix, made = paged_accounts
    made.result
    result = run_js("query.mjs", "autofetch", f"SELECT Id FROM Account WHERE Name LIKE '{prefix}%'").result
    assert result["totalSize"] == PAGE_ROWS
    assert result["fetched"] == PAGE_ROWS and result["distinctIds"] == PAGE_ROWS


# ----------------------------------------------------------------------------------- Bulk API 2.0

BULK_ROWS = 3000


def _accounts_csv(path: Path, prefix: str, rows: int, bad_rows: int = 0) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Name", "Industry", "NumberOfEmployees"])
    for i in range(rows):
        writer.writerow([f"{prefix}{i:05d}", "Government", i % 500])
    for _ in range(bad_rows):
        writer.writerow(["", "Government", 1])  # Name is required: a failed row
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bulk_loaded(run_js, rest, tmp_path_factory):
    prefix = f"JSF-BULK-{uuid.uuid4().hex[:8]}-"
    csv_path = _accounts_csv(tmp_path_factory.mktemp("bulk") / "accounts.csv", prefix, BULK_ROWS)
    out = run_js("bulk2.mjs", "load", "Account", "insert", str(csv_path), timeout=180)
    yield prefix, out
    rest.delete_where(f"SELECT Id FROM Account WHERE Name LIKE '{prefix}%'")


def test_bulk2_ingest_insert(bulk_loaded, rest):
    """conn.bulk2.loadAndWaitForResults: POST jobs/ingest, PUT batches, PATCH UploadComplete, poll, results."""
    prefix, out = bulk_loaded
    result = out.result
    assert result["successful"] == BULK_ROWS and result["failed"] == 0 and result["unprocessed"] == 0, result
    assert result["created"] == BULK_ROWS
    assert len(set(result["successfulIds"])) == BULK_ROWS
    sample = result["successfulSample"][0]
    assert set(sample) >= {"sf__Id", "sf__Created", "Name", "Industry", "NumberOfEmployees"}, sample
    assert rest.count(f"SELECT Id FROM Account WHERE Name LIKE '{prefix}%'") == BULK_ROWS


def test_bulk2_query(bulk_loaded, run_js):
    """conn.bulk2.query: POST jobs/query, poll, GET results pages following Sforce-Locator."""
    prefix, loaded = bulk_loaded
    ingested = set(loaded.result["successfulIds"])
    result = run_js("bulk2.mjs", "query", f"SELECT Id, Name FROM Account WHERE Name LIKE '{prefix}%'", timeout=120).result
    assert result["count"] == BULK_ROWS
    assert result["columns"] == ["Id", "Name"]
    assert set(result["ids"]) == ingested


def test_bulk2_ingest_reports_failed_rows(run_js, rest, tmp_path):
    """createJob/open/uploadData/close/poll step by step, with one row the org rejects."""
    prefix = f"JSF-BULKF-{uuid.uuid4().hex[:8]}-"
    csv_path = _accounts_csv(tmp_path / "mixed.csv", prefix, rows=3, bad_rows=1)
    result = run_js("bulk2.mjs", "job", "Account", "insert", str(csv_path), timeout=120).result
    try:
        assert result["openedState"] == "Open"
        assert result["state"] == "JobComplete"
        assert result["numberRecordsProcessed"] == 4 and result["numberRecordsFailed"] == 1, result
        assert result["successful"] == 3 and result["failed"] == 1
        failed = result["failedSample"][0]
        assert "REQUIRED_FIELD_MISSING" in failed["sf__Error"], failed
        assert failed["sf__Id"] == ""
    finally:
        rest.delete_where(f"SELECT Id FROM Account WHERE Name LIKE '{prefix}%'")
