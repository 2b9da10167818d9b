"""The matcher job against the emulator: proposals, reruns, rejections remembered, and a worker
killed mid-run."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from sync_engine.legacy import services
from sync_engine.legacy.models import JobStatus, LegacyMatchJob, LegacyMatchProposal, ProposalStatus
from sync_engine.models import ApiCallBucket


def run_job(connection, **kwargs) -> LegacyMatchJob:
    with transaction.atomic():
        job = services.legacy_match_start(connection=connection)
    services.legacy_match_run(job_id=job.pk, **kwargs)
    job.refresh_from_db()
    return job


def pairs(status: str | None = None) -> set[tuple[int, str]]:
    qs = LegacyMatchProposal.objects.all()
    if status:
        qs = qs.filter(status=status)
    return set(qs.values_list("opportunity_id", "salesforce_id"))


def test_the_job_proposes_each_legacy_record_with_its_twin_first(legacy_world):
    cothon, sf = legacy_world["cothon"], legacy_world["sf"]
    job = run_job(legacy_world["connection"])
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.salesforce_total == 5 and job.cothon_total == 3 and job.processed == 5 and job.read_with == "soql"
    assert job.api_calls >= 1 and ApiCallBucket.objects.filter(kind="legacy_match").exists()
    best = {p.salesforce_id: p for p in LegacyMatchProposal.objects.filter(rank=1)}
    assert best[sf["radar"]].opportunity_id == cothon["radar"].pk
    assert best[sf["translation"]].opportunity_id == cothon["translation"].pk
    assert best[sf["wildfire"]].opportunity_id == cothon["wildfire"].pk
    assert sf["unrelated"] not in best
    ordered = list(LegacyMatchProposal.objects.order_by("-score").values_list("salesforce_id", flat=True))
    # The decoy is proposed for the radar tender too, but below every true pair.
    assert ordered[-1] == sf["radar_decoy"]
    radar = best[sf["radar"]]
    assert radar.sf_account_name == "Fisheries and Oceans Canada" and radar.date_difference_days == 1
    assert radar.evidence["amount"]["score"] == 100


def test_a_rerun_adds_no_duplicate_and_keeps_decisions(legacy_world):
    sf = legacy_world["sf"]
    run_job(legacy_world["connection"])
    first = pairs()
    decoy = LegacyMatchProposal.objects.get(salesforce_id=sf["radar_decoy"])
    services.legacy_proposal_reject(tenant=decoy.tenant, proposal_id=decoy.pk)
    again = run_job(legacy_world["connection"])
    assert again.status == JobStatus.SUCCEEDED
    assert pairs() == first and LegacyMatchProposal.objects.count() == len(first)
    decoy.refresh_from_db()
    assert decoy.status == ProposalStatus.REJECTED  # remembered, not proposed again
    assert LegacyMatchProposal.objects.filter(status=ProposalStatus.OPEN).count() == len(first) - 1


def test_a_start_while_a_job_runs_returns_that_job(legacy_world):
    with transaction.atomic():
        first = services.legacy_match_start(connection=legacy_world["connection"])
        second = services.legacy_match_start(connection=legacy_world["connection"])
    assert first.pk == second.pk and LegacyMatchJob.objects.count() == 1


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no except clause catches it."""


def test_a_worker_killed_mid_run_is_resumed_from_its_cursor_without_duplicates(legacy_world, monkeypatch):
    connection = legacy_world["connection"]
    real_upsert = services._upsert
    calls = {"n": 0}

    def dies_after_the_first_chunk(job, matches):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed
        return real_upsert(job, matches)

    monkeypatch.setattr(services, "_upsert", dies_after_the_first_chunk)
    with transaction.atomic():
        job = services.legacy_match_start(connection=connection)
    with pytest.raises(Killed):
        services.legacy_match_run(job_id=job.pk, chunk_size=2)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.processed == 2 and job.cursor
    saved_before = pairs()
    # Its lease still runs: a duplicate delivery of the task does nothing.
    assert services.legacy_match_run(job_id=job.pk, chunk_size=2) is None
    # The lease runs out; starting again takes the same job over from its cursor.
    LegacyMatchJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - datetime.timedelta(minutes=5))
    monkeypatch.setattr(services, "_upsert", real_upsert)
    with transaction.atomic():
        resumed = services.legacy_match_start(connection=connection)
    assert resumed.pk == job.pk
    services.legacy_match_run(job_id=job.pk, chunk_size=2)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2 and job.processed == 5
    assert saved_before <= pairs()
    clean = LegacyMatchProposal.objects.count()
    # The same data matched from scratch gives the same proposals: nothing lost, nothing twice.
    LegacyMatchProposal.objects.all().delete()
    run_job(connection)
    assert LegacyMatchProposal.objects.count() == clean


def test_a_proposal_no_longer_made_is_closed_by_the_next_complete_run(legacy_world, emulator_reset):
    sf = legacy_world["sf"]
    run_job(legacy_world["connection"])
    # Someone fills Cothon_Ref__c in by hand in Salesforce: not a legacy record any more.
    emulator_reset.sf().Opportunity.update(sf["wildfire"], {"Cothon_Ref__c": "HAND-1"})
    run_job(legacy_world["connection"])
    proposal = LegacyMatchProposal.objects.get(salesforce_id=sf["wildfire"])
    assert proposal.status == ProposalStatus.SUPERSEDED


def test_a_connection_that_is_not_connected_cannot_start_the_job(legacy_world):
    from django.core.exceptions import ValidationError

    connection = legacy_world["connection"]
    connection.status = "needs_reconnect"
    connection.save(update_fields=["status"])
    with pytest.raises(ValidationError), transaction.atomic():
        services.legacy_match_start(connection=connection)


def test_above_the_threshold_the_salesforce_side_is_read_with_one_bulk_query(legacy_world, monkeypatch):
    from sync_engine.legacy import source

    monkeypatch.setattr(source, "BULK_THRESHOLD", 3)
    job = run_job(legacy_world["connection"])
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.read_with == "bulk" and job.salesforce_total == 5
    best = dict(LegacyMatchProposal.objects.filter(rank=1).values_list("salesforce_id", "opportunity_id"))
    assert best[legacy_world["sf"]["radar"]] == legacy_world["cothon"]["radar"].pk


def test_a_failed_run_started_again_carries_on_from_its_cursor(legacy_world, monkeypatch):
    from integrations.salesforce.errors import SalesforceError

    connection = legacy_world["connection"]
    real_upsert = services._upsert
    calls = {"n": 0}

    def org_refuses_midway(job, matches):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SalesforceError("SERVER_UNAVAILABLE", "Try again later.")
        return real_upsert(job, matches)

    monkeypatch.setattr(services, "_upsert", org_refuses_midway)
    job = run_job(connection, chunk_size=2)
    assert job.status == JobStatus.FAILED and "SERVER_UNAVAILABLE" in job.message and job.processed == 2
    monkeypatch.setattr(services, "_upsert", real_upsert)
    again = run_job(connection, chunk_size=2)
    assert again.pk == job.pk and again.status == JobStatus.SUCCEEDED and again.processed == 5 and again.attempts == 2
    assert LegacyMatchJob.objects.count() == 1
