"""The daily validation against a hand-built fixture in the emulator: exact counts by kind, the
repairs it makes (and those it must not make on a truncated or refused read)."""

from __future__ import annotations

import pytest

from opportunities.models import Opportunity
from sync_engine.fanout import fan_out_pending
from sync_engine.executor import push_connection
from sync_engine.models import ChangeRecord, LinkStatus, SyncLink, SyncRun, SyncRunKind, SyncRunStatus
from sync_engine.validation import reader
from sync_engine.validation.models import DriftKind, ReportStatus
from sync_engine.validation.services import validation_run, validation_start
from tests.sync_engine.validation.conftest import link_of


def validate(connection, **kwargs):
    report = validation_start(connection=connection, enqueue=False)
    return validation_run(report_id=report.pk, **kwargs)


def test_the_report_counts_one_of_each_kind_exactly(connected, drift):
    report = validate(connected)
    assert report.status == ReportStatus.COMPLETE, report.reason
    assert (report.missing_in_salesforce, report.missing_in_cothon, report.field_differences, report.orphans) == (1, 1, 2, 1)
    assert report.records_with_differences == 2 and report.records_compared == 3
    assert report.read_method == "bulk" and report.rows_read == report.rows_expected
    fields = {(e["record_id"], e["field"], e["changed_by"]) for e in report.examples[DriftKind.FIELD_DIFFERENCE]}
    assert fields == {(drift.cothon_changed.pk, "Description", "Cothon"), (drift.salesforce_changed.pk, "Description", "Salesforce")}
    assert [e["salesforce_id"] for e in report.examples[DriftKind.ORPHAN]] == [drift.orphan_sf_id]
    assert [e["salesforce_id"] for e in report.examples[DriftKind.MISSING_IN_COTHON]] == [drift.deleted_in_cothon_sf_id]
    assert [e["record_id"] for e in report.examples[DriftKind.MISSING_IN_SALESFORCE]] == [drift.deleted_in_salesforce.pk]
    run = SyncRun.objects.get(pk=report.run_id)
    assert run.kind == SyncRunKind.VALIDATION and run.status == SyncRunStatus.SUCCEEDED and run.api_calls == report.api_calls


def test_one_bulk_job_reads_everything_in_a_handful_of_calls(connected, drift):
    report = validate(connected)
    assert report.api_calls <= 10  # create, status checks, one results page (and the pull's apply of B)


def test_it_repairs_each_side_by_the_rules_and_never_deletes(alice, connected, drift, emulator_reset):
    report = validate(connected)
    assert report.repairs["queued_for_push"] == 1 and report.repairs["applied_from_salesforce"] == 1
    assert report.repairs["marked_deleted_in_salesforce"] == 1
    # Salesforce's edit applied in Cothon; Cothon's lost edit queued (as an edit: the push's conflict guard applies).
    assert Opportunity.objects.get(pk=drift.salesforce_changed.pk).description == "Edited in Salesforce"
    change = ChangeRecord.objects.get(record_id=drift.cothon_changed.pk)
    assert change.event == "updated" and change.fields == ["description"] and change.origin == "cothon"
    fan_out_pending()
    assert push_connection(connection_id=connected.pk).failed == 0
    sf = emulator_reset.sf()
    assert sf.Opportunity.get(link_of(connected, drift.cothon_changed).salesforce_id)["Description"] == "Edited in Cothon, push lost"
    # Deleted in Salesforce: marked, still linked, the Cothon record stays; the orphan and the
    # record whose Cothon twin is gone stay in Salesforce.
    link = link_of(connected, drift.deleted_in_salesforce)
    assert link.status == LinkStatus.DELETED_IN_SALESFORCE and link.salesforce_id
    assert Opportunity.objects.filter(pk=drift.deleted_in_salesforce.pk).exists()
    assert sf.Opportunity.get(drift.orphan_sf_id)["Id"] and sf.Opportunity.get(drift.deleted_in_cothon_sf_id)["Id"]
    assert SyncLink.objects.filter(connection=connected, salesforce_id=drift.deleted_in_cothon_sf_id).exists()
    # Converged: a second validation finds only what the rules leave as it is.
    again = validate(connected)
    assert (again.field_differences, again.missing_in_salesforce, again.missing_in_cothon, again.orphans) == (0, 1, 1, 1)
    assert again.repairs["marked_deleted_in_salesforce"] == 0


def test_a_failed_read_mid_stream_marks_nothing_deleted_and_says_truncated(connected, drift, emulator_reset):
    emulator_reset.client.add_fault(operation="bulk", path_contains="/results", status=503)
    try:
        report = validate(connected)
    finally:
        emulator_reset.client.clear_faults()
    assert report.status == ReportStatus.TRUNCATED
    assert "SERVER_UNAVAILABLE" in report.reason and "no link was marked deleted" in report.reason
    assert report.repairs["marked_deleted_in_salesforce"] == 0
    assert link_of(connected, drift.deleted_in_salesforce).status == LinkStatus.SYNCED
    assert SyncLink.objects.filter(connection=connected, record_type="opportunity").count() == 5
    assert SyncRun.objects.get(pk=report.run_id).status == SyncRunStatus.FINISHED_WITH_ERRORS


def test_fewer_rows_than_the_job_processed_is_a_truncated_read(connected, drift, monkeypatch):
    from integrations.salesforce.client import SalesforceClient

    real = SalesforceClient.bulk_query_info

    def one_row_lost(self, sobject, job_id):
        info = dict(real(self, sobject, job_id))
        if info.get("state") == "JobComplete":
            info["numberRecordsProcessed"] = int(info["numberRecordsProcessed"]) + 1
        return info

    monkeypatch.setattr(SalesforceClient, "bulk_query_info", one_row_lost)
    report = validate(connected)
    assert report.status == ReportStatus.TRUNCATED and "processed" in report.reason
    assert report.missing_in_salesforce == 1  # returned deleted: reported, not acted on
    assert link_of(connected, drift.deleted_in_salesforce).status == LinkStatus.SYNCED


def test_a_governor_refusal_reads_nothing_and_marks_nothing(connected, drift):
    from sync_engine.governor import get_governor

    get_governor().pause(connected.pk, 3600.0)
    report = validate(connected)
    assert report.status == ReportStatus.FAILED and "governor" in report.reason and report.api_calls == 0
    assert link_of(connected, drift.deleted_in_salesforce).status == LinkStatus.SYNCED


def test_paged_soql_reads_the_same_drift(connected, drift, monkeypatch):
    monkeypatch.setattr(reader, "CHUNK_ROWS", 2)
    report = validate(connected, method="soql")
    assert report.status == ReportStatus.COMPLETE and report.read_method == "soql"
    assert (report.missing_in_salesforce, report.missing_in_cothon, report.field_differences, report.orphans) == (1, 1, 2, 1)


def test_a_second_validation_while_one_runs_is_refused(connected):
    from django.core.exceptions import ValidationError

    validation_start(connection=connected, enqueue=False)
    with pytest.raises(ValidationError):
        validation_start(connection=connected, enqueue=False)


def test_an_error_after_some_pages_keeps_their_repairs_but_marks_nothing_deleted(connected, drift, monkeypatch):
    from integrations.salesforce.client import SalesforceClient
    from integrations.salesforce.errors import SalesforceError

    monkeypatch.setattr(reader, "PAGE_ROWS", 2)
    monkeypatch.setattr(reader, "CHUNK_ROWS", 2)
    real, pages = SalesforceClient.bulk_query_page, []

    def dropped_after_two_pages(self, sobject, job_id, locator, max_records):
        pages.append(locator)
        if len(pages) > 2:
            raise SalesforceError("CONNECTION_ERROR", "Could not reach Salesforce (connection reset)")
        return real(self, sobject, job_id, locator, max_records)

    monkeypatch.setattr(SalesforceClient, "bulk_query_page", dropped_after_two_pages)
    report = validate(connected)
    assert report.status == ReportStatus.TRUNCATED and report.rows_read == 4 and report.rows_expected == 6
    assert "after 4 rows" in report.reason and "CONNECTION_ERROR" in report.reason
    assert report.repairs["marked_deleted_in_salesforce"] == 0
    assert link_of(connected, drift.deleted_in_salesforce).status == LinkStatus.SYNCED
    assert SyncLink.objects.filter(connection=connected, record_type="opportunity").count() == 5


def test_an_org_that_refuses_bulk_queries_is_read_with_paged_soql(connected, drift, emulator_reset):
    emulator_reset.client.add_fault(operation="bulk", path_contains="/jobs/query", method="POST", status=400,
                                    error_code="FEATURE_NOT_ENABLED", message="Bulk API 2.0 is not enabled for this user.")
    try:
        report = validate(connected)
    finally:
        emulator_reset.client.clear_faults()
    assert report.status == ReportStatus.COMPLETE and report.read_method == "soql"
    assert "FEATURE_NOT_ENABLED" in report.reason
    assert (report.missing_in_salesforce, report.missing_in_cothon, report.field_differences, report.orphans) == (1, 1, 2, 1)
