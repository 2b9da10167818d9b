"""Bulk API 2.0 over HTTP: ingest (insert/upsert/delete with good and bad rows and the three
result files), query jobs with locator paging, states/abort, and simple-salesforce's bulk2."""

from __future__ import annotations

import csv
import io
import time

import pytest

pytestmark = pytest.mark.emulator


def _wait(session, url, states=("JobComplete", "Failed", "Aborted"), timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = session.get(url).json()
        if info["state"] in states:
            return info
        time.sleep(0.1)
    raise AssertionError(f"job stuck: {info}")


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def _ingest(handle, session, body, data, version="59.0"):
    base = f"{handle.api(version)}/jobs/ingest"
    created = session.post(base, json=body)
    assert created.status_code == 200, created.text
    job = created.json()
    assert job["state"] == "Open"
    put = session.put(f"{handle.instance_url}/{job['contentUrl']}", data=data.encode(),
                      headers={"Content-Type": "text/csv"})
    assert put.status_code == 201 and put.content == b""
    closed = session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"})
    assert closed.status_code == 200 and closed.json()["state"] == "UploadComplete"
    return job["id"], _wait(session, f"{base}/{job['id']}")


def test_create_job_shape_and_errors(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    base = f"{handle.api()}/jobs/ingest"
    created = session.post(base, json={"object": "Account", "operation": "insert",
                                       "contentType": "CSV", "lineEnding": "LF"})
    job = created.json()
    assert created.headers["Content-Type"].startswith("application/json")
    assert list(job) == ["id", "operation", "object", "createdById", "createdDate",
                         "systemModstamp", "state", "concurrencyMode", "contentType",
                         "apiVersion", "jobType", "contentUrl", "lineEnding", "columnDelimiter",
                         "retries", "totalProcessingTime", "apiActiveProcessingTime",
                         "apexProcessingTime"]
    assert job["id"].startswith("750") and len(job["id"]) == 18
    assert job["apiVersion"] == 59.0 and job["jobType"] == "V2Ingest"
    assert job["contentUrl"] == f"services/data/v59.0/jobs/ingest/{job['id']}/batches"
    assert job["createdById"] == handle.demo["user_id"]
    assert "Sforce-Locator" not in created.headers
    listed = session.get(base).json()
    assert listed["done"] is True and [r["id"] for r in listed["records"]] == [job["id"]]
    missing = session.get(f"{base}/7505g000000XXXXAAA")
    assert missing.status_code == 404
    assert missing.json() == [{"errorCode": "NOT_FOUND",
                               "message": "The requested resource does not exist"}]
    assert session.post(base, json={"object": "Account", "operation": "merge"}).status_code == 400
    bad_upsert = session.post(base, json={"object": "Account", "operation": "upsert"})
    assert bad_upsert.status_code == 400
    no_ext = session.post(base, json={"object": "Account", "operation": "upsert",
                                      "externalIdFieldName": "Name"})
    assert no_ext.status_code == 404  # not an external id field (REST's NOT_FOUND shape)
    # Abort an open job; then it cannot be closed
    aborted = session.patch(f"{base}/{job['id']}", json={"state": "Aborted"})
    assert aborted.json()["state"] == "Aborted" and "Sforce-Locator" not in aborted.headers
    again = session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"})
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert session.delete(f"{base}/{job['id']}").status_code == 204
    assert session.get(f"{base}/{job['id']}").status_code == 404


def test_insert_mixed_rows_and_result_files(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    data = ("Name,StageName,CloseDate,Amount,Cothon_Ref__c\n"
            "Good one,Prospecting,2030-01-01,100,B-1\n"
            "No stage,,2030-01-01,5,B-2\n"
            "Bad amount,Prospecting,2030-01-01,lots,B-3\n"
            "\"Quoted, name\",Closed Won,2030-02-01,#N/A,B-4\n")
    job_id, info = _ingest(handle, session, {"object": "Opportunity", "operation": "insert"},
                           data)
    assert info["state"] == "JobComplete", info
    assert info["numberRecordsProcessed"] == 4 and info["numberRecordsFailed"] == 2
    base = f"{handle.api()}/jobs/ingest/{job_id}"
    ok = session.get(f"{base}/successfulResults/")
    assert ok.status_code == 200 and ok.headers["Content-Type"].startswith("text/csv")
    assert ok.text.splitlines()[0] == '"sf__Id","sf__Created",Name,StageName,CloseDate,Amount,Cothon_Ref__c'
    good = _rows(ok.text)
    assert [r["Name"] for r in good] == ["Good one", "Quoted, name"]
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("006") for r in good)
    failed = session.get(f"{base}/failedResults/").text
    assert failed.splitlines()[0].startswith('"sf__Id","sf__Error",Name')
    bad = {r["Name"]: r for r in _rows(failed)}
    assert bad["No stage"]["sf__Error"] == ("REQUIRED_FIELD_MISSING:Required fields are "
                                            "missing: [StageName]:StageName --")
    assert bad["Bad amount"]["sf__Error"].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:")
    assert bad["No stage"]["sf__Id"] == ""
    for name in ("unprocessedrecords", "unprocessedRecords"):
        unprocessed = session.get(f"{base}/{name}/")
        assert unprocessed.status_code == 200
        assert unprocessed.text.strip() == "Name,StageName,CloseDate,Amount,Cothon_Ref__c"
    stored = {r["Name"]: r for r in handle.client.records("demo", "Opportunity")}
    assert stored["Good one"]["Amount"] == 100 and stored["Quoted, name"]["Amount"] is None
    assert stored["Quoted, name"]["IsWon"] is True


def test_upsert_update_delete_and_relationship_columns(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    sf = handle.sf()
    acct = sf.Account.create({"Name": "PSPC", "Cothon_Department_Key__c": "dept-pspc"})
    sf.Opportunity.create({"Name": "Existing", "StageName": "Prospecting",
                           "CloseDate": "2030-01-01", "Cothon_Ref__c": "U-1", "Amount": 1})
    data = ("Cothon_Ref__c,Name,StageName,CloseDate,Account.Cothon_Department_Key__c,Description\n"
            "U-1,Renamed,,,dept-pspc,#N/A\n"
            "U-2,Fresh,Qualification,2030-05-05,dept-pspc,\n"
            "U-3,Orphan,Qualification,2030-05-05,dept-nope,\n")
    job_id, info = _ingest(handle, session, {"object": "Opportunity", "operation": "upsert",
                                             "externalIdFieldName": "Cothon_Ref__c"}, data)
    assert info["state"] == "JobComplete" and info["externalIdFieldName"] == "Cothon_Ref__c"
    assert info["numberRecordsProcessed"] == 3 and info["numberRecordsFailed"] == 1
    base = f"{handle.api()}/jobs/ingest/{job_id}"
    ok = {r["Cothon_Ref__c"]: r for r in _rows(session.get(f"{base}/successfulResults").text)}
    assert ok["U-1"]["sf__Created"] == "false" and ok["U-2"]["sf__Created"] == "true"
    bad = _rows(session.get(f"{base}/failedResults").text)
    assert bad[0]["Cothon_Ref__c"] == "U-3" and bad[0]["sf__Error"].startswith("INVALID_FIELD:")
    renamed = sf.Opportunity.get_by_custom_id("Cothon_Ref__c", "U-1")
    assert renamed["Name"] == "Renamed" and renamed["StageName"] == "Prospecting"
    assert renamed["AccountId"] == acct["id"]
    # update by Id, then delete by Id (one unknown id fails)
    fresh = ok["U-2"]["sf__Id"]
    job_id, info = _ingest(handle, session, {"object": "Opportunity", "operation": "update"},
                           f"Id,Amount\n{fresh},42\n")
    assert info["numberRecordsFailed"] == 0 and sf.Opportunity.get(fresh)["Amount"] == 42
    job_id, info = _ingest(handle, session, {"object": "Opportunity", "operation": "delete"},
                           f"Id\n{fresh}\n006000000000000AAA\n")
    assert info["numberRecordsProcessed"] == 2 and info["numberRecordsFailed"] == 1
    deleted = [r for r in handle.client.records("demo", "Opportunity", include_deleted=True)
               if r["Id"] == fresh]
    assert deleted[0]["IsDeleted"] is True
    # A bad header fails the whole job with errorMessage; rows are unprocessed
    job_id, info = _ingest(handle, session, {"object": "Account", "operation": "insert"},
                           "Name,Nope__c\nx,y\n")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    unprocessed = session.get(f"{handle.api()}/jobs/ingest/{job_id}/unprocessedrecords").text
    assert _rows(unprocessed) == [{"Name": "x", "Nope__c": "y"}]
    # CRLF data under a LF job fails like Salesforce
    _id, info = _ingest(handle, session, {"object": "Account", "operation": "insert"},
                        "Name\r\nx\r\n")
    assert info["state"] == "Failed" and "LineEnding" in info["errorMessage"]
    _id, info = _ingest(handle, session, {"object": "Account", "operation": "insert",
                                          "lineEnding": "CRLF"}, "Name\r\nx\r\n")
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 1


def test_upsert_on_id_inserts_rows_without_an_id(emulator_reset):
    """Salesforce inserts the rows of an upsert on Id that have no Id column or a blank Id."""
    handle = emulator_reset
    session = handle.session()
    sf = handle.sf()
    existing = sf.Account.create({"Name": "Kept id"})["id"]
    body = {"object": "Account", "operation": "upsert", "externalIdFieldName": "Id"}
    job_id, info = _ingest(handle, session, body, "Name,Industry\nNo id column,Government\n")
    assert info["state"] == "JobComplete", info
    assert info["numberRecordsProcessed"] == 1 and info["numberRecordsFailed"] == 0
    base = f"{handle.api()}/jobs/ingest/{job_id}"
    ok = _rows(session.get(f"{base}/successfulResults").text)
    assert ok[0]["sf__Created"] == "true" and ok[0]["sf__Id"].startswith("001")
    assert sf.Account.get(ok[0]["sf__Id"])["Industry"] == "Government"
    job_id, info = _ingest(handle, session, body,
                           f"Id,Name\n,Blank id\n{existing},Renamed by id\n")
    assert info["state"] == "JobComplete", info
    assert info["numberRecordsProcessed"] == 2 and info["numberRecordsFailed"] == 0
    rows = {r["Name"]: r for r in _rows(session.get(
        f"{handle.api()}/jobs/ingest/{job_id}/successfulResults").text)}
    assert rows["Blank id"]["sf__Created"] == "true"
    assert rows["Renamed by id"] == {"sf__Id": existing, "sf__Created": "false",
                                     "Id": existing, "Name": "Renamed by id"}
    assert sf.Account.get(existing)["Name"] == "Renamed by id"
    # another external id field still needs its column
    _id, info = _ingest(handle, session, {"object": "Account", "operation": "upsert",
                                          "externalIdFieldName": "Cothon_Department_Key__c"},
                        "Name\nx\n")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == ("InvalidBatch : Field name not found : "
                                    "Cothon_Department_Key__c")


@pytest.mark.parametrize("data", [None, "", "Name\n"], ids=["no-upload", "empty", "header-only"])
def test_empty_upload_completes_with_empty_results(emulator_reset, data):
    handle = emulator_reset
    session = handle.session()
    base = f"{handle.api()}/jobs/ingest"
    job = session.post(base, json={"object": "Account", "operation": "insert"}).json()
    if data is not None:
        put = session.put(f"{base}/{job['id']}/batches", data=data.encode(),
                          headers={"Content-Type": "text/csv"})
        assert put.status_code == 201
    closed = session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"})
    assert closed.status_code == 200
    info = _wait(session, f"{base}/{job['id']}")
    assert info["state"] == "JobComplete", info
    assert info["numberRecordsProcessed"] == 0 and info["numberRecordsFailed"] == 0
    for which in ("successfulResults", "failedResults", "unprocessedrecords"):
        answer = session.get(f"{base}/{job['id']}/{which}")
        assert answer.status_code == 200
        assert _rows(answer.text) == [], (which, answer.text)


def test_upload_rules(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    base = f"{handle.api()}/jobs/ingest"
    job = session.post(base, json={"object": "Account", "operation": "insert"}).json()
    url = f"{base}/{job['id']}/batches"
    assert session.put(url, data=b"Name\nx\n", headers={"Content-Type": "text/csv"}).status_code == 201
    twice = session.put(url, data=b"Name\ny\n", headers={"Content-Type": "text/csv"})
    assert twice.status_code == 400 and twice.json()[0]["errorCode"] == "BULK_API_ERROR"
    usage_before = handle.client.limits("demo")["used"]
    session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"})
    _wait(session, f"{base}/{job['id']}")
    # each request costs one call; the rows processed cost none
    assert handle.client.limits("demo")["used"] - usage_before <= 3


def test_query_job_paging_with_locators(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    sf = handle.sf()
    acct = sf.Account.create({"Name": "Parent Co"})
    data = "Name,AccountId,StageName,CloseDate,Amount\n" + "".join(
        f"Q{i:03d},{acct['id']},Prospecting,2030-01-01,{i}.5\n" for i in range(25))
    _ingest(handle, session, {"object": "Opportunity", "operation": "insert"}, data)
    base = f"{handle.api()}/jobs/query"
    created = session.post(base, json={
        "operation": "query", "query": "SELECT Id, Name, Amount, Account.Name, IsWon, CreatedDate "
        "FROM Opportunity WHERE Name LIKE 'Q%' ORDER BY Name"},
        headers={"Accept": "text/csv"})
    assert created.status_code == 200 and created.headers["Content-Type"].startswith(
        "application/json")
    assert "Sforce-Locator" not in created.headers
    job = created.json()
    assert job["state"] == "UploadComplete" and job["object"] == "Opportunity"
    info = _wait(session, f"{base}/{job['id']}")
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 25
    assert "Sforce-Locator" not in session.get(f"{base}/{job['id']}").headers
    rows, locator, pages = [], None, 0
    while True:
        params = {"maxRecords": 10}
        if locator:
            params["locator"] = locator
        page = session.get(f"{base}/{job['id']}/results", params=params)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/csv")
        pages += 1
        got = _rows(page.text)
        assert int(page.headers["Sforce-NumberOfRecords"]) == len(got)
        rows += got
        locator = page.headers["Sforce-Locator"]
        if locator == "null":
            break
    assert pages == 3 and len(rows) == 25
    assert page.text.splitlines()[0] == '"Id","Name","Amount","Account.Name","IsWon","CreatedDate"'
    assert rows[0]["Name"] == "Q000" and rows[0]["Account.Name"] == "Parent Co"
    assert rows[0]["Amount"] == "0.5" and rows[0]["IsWon"] == "false"
    assert rows[0]["CreatedDate"].endswith("Z")
    whole = session.get(f"{base}/{job['id']}/results")
    assert whole.headers["Sforce-Locator"] == "null" and len(_rows(whole.text)) == 25
    bad = session.post(base, json={"operation": "query", "query": "SELECT Nope FROM Account"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
    listed = session.get(base).json()
    assert [r["id"] for r in listed["records"]] == [job["id"]]
    assert session.delete(f"{base}/{job['id']}").status_code == 204
    # queryAll sees deleted rows
    sf.Account.delete(acct["id"])
    all_job = session.post(base, json={"operation": "queryAll",
                                       "query": "SELECT Id, IsDeleted FROM Account "
                                                "WHERE Name = 'Parent Co'"}).json()
    _wait(session, f"{base}/{all_job['id']}")
    deleted = _rows(session.get(f"{base}/{all_job['id']}/results").text)
    assert deleted == [{"Id": acct["id"], "IsDeleted": "true"}]


def test_simple_salesforce_bulk2_round_trips(emulator_reset, tmp_path):
    handle = emulator_reset
    sf = handle.sf()
    path = tmp_path / "accounts.csv"
    path.write_text("Name,Cothon_Department_Key__c,Industry\n" + "".join(
        f"Dept {i},k-{i},Government\n" for i in range(50)) + "Dupe,k-1,Government\n")
    result = sf.bulk2.Account.insert(csv_file=str(path), batch_size=30, wait=0.2)
    assert sum(r["numberRecordsProcessed"] for r in result) == 51
    assert sum(r["numberRecordsFailed"] for r in result) == 1
    failed = sf.bulk2.Account.get_failed_records(result[-1]["job_id"])
    assert "DUPLICATE_VALUE" in failed
    up = tmp_path / "upsert.csv"
    up.write_text("Cothon_Department_Key__c,Name,Phone\nk-1,,555-0101\nk-new,New,555-0102\n")
    out = sf.bulk2.Account.upsert(csv_file=str(up), external_id_field="Cothon_Department_Key__c",
                                  wait=0.2)
    assert out[0]["numberRecordsProcessed"] == 2 and out[0]["numberRecordsFailed"] == 0
    rows = []
    for chunk in sf.bulk2.Account.query(
            "SELECT Name, Phone FROM Account WHERE Cothon_Department_Key__c LIKE 'k-%' "
            "ORDER BY Name", max_records=20, wait=0.2):
        rows += _rows(chunk)
    assert len(rows) == 51
    assert {r["Phone"] for r in rows if r["Phone"]} == {"555-0101", "555-0102"}
    deleted = sf.bulk2.Account.delete(records=[{"Id": r["Id"]} for r in sf.query_all(
        "SELECT Id FROM Account WHERE Cothon_Department_Key__c LIKE 'k-%'")["records"]],
        wait=0.2)
    assert deleted[0]["numberRecordsProcessed"] == 51


def test_abort_during_processing_leaves_unprocessed_rows(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    base = f"{handle.api()}/jobs/ingest"
    job = session.post(base, json={"object": "Account", "operation": "insert"}).json()
    rows = "".join(f"Abort {i}\n" for i in range(20000))
    session.put(f"{base}/{job['id']}/batches", data=("Name\n" + rows).encode(),
                headers={"Content-Type": "text/csv"})
    session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"})
    session.patch(f"{base}/{job['id']}", json={"state": "Aborted"})
    info = _wait(session, f"{base}/{job['id']}")
    assert info["state"] == "Aborted"
    # The worker notices the abort at its next chunk; until then results may still grow, so read
    # until two reads in a row agree (a slow machine may need more than one chunk's time).
    deadline, previous = time.time() + 15, None
    while True:
        ok = _rows(session.get(f"{base}/{job['id']}/successfulResults").text)
        unprocessed = session.get(f"{base}/{job['id']}/unprocessedrecords").text.splitlines()
        current = (len(ok), len(unprocessed))
        if current == previous or time.time() > deadline:
            break
        previous = current
        time.sleep(0.3)
    assert len(ok) + len(unprocessed) - 1 == 20000
    assert len(unprocessed) > 1
