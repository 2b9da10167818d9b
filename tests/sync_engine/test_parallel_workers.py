"""Parallel sync with real workers: one org's full run spread over two background workers (each
claiming its own batches, parents first, every record once, the run counted exactly), and the
per-org cap of one with parallel sync off."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from integrations.sync_settings import settings_current, settings_save
from opportunities import services as opp
from opportunities.models import BidAnalysis
from sync_engine.fanout import fan_out_pending
from sync_engine.models import OutboxEntry, OutboxState, SyncLog, SyncRunStatus
from sync_engine.services import sync_now_start
from tests.sync_engine.workers import Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

OPPORTUNITIES, ANALYSES, BATCH = 24, 12, 6


def _watch_owners(stop: threading.Event, seen: list[int]) -> None:
    """How many workers hold claimed rows at once, sampled until `stop`."""
    try:
        while not stop.is_set():
            seen.append(OutboxEntry.objects.filter(state=OutboxState.CLAIMED).values("lease_owner").distinct().count())
            time.sleep(0.02)
    finally:
        connections.close_all()


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel sync on", "parallel sync off"])
def test_a_full_run_over_two_background_workers(alice, connected, emulator_reset, department_factory, opportunity_factory,
                                                parallel):
    department = department_factory(alice.tenant, "Health Canada")
    opportunities = [opportunity_factory(alice.tenant, department=department) for _ in range(OPPORTUNITIES)]
    for opportunity in opportunities[:ANALYSES]:
        analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="Fit", key_findings="Strong fit")
        opp.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=80, recommendation="Bid")
    fan_out_pending()
    OutboxEntry.objects.all().delete()  # the run alone: nothing queued in real time
    data = settings_current(connection=connected)
    data["parallel_sync"] = parallel
    settings_save(connection=connected, data=data, actor=alice.admin, against_org=False)
    # Small batches and a slow Salesforce, so batches overlap whenever two may.
    emulator_reset.client.add_fault(org="demo", path_contains="composite/sobjects", latency_ms=400, status=200, error_code="")
    env = {"COTHON_PUSH_BATCH_SIZE": str(BATCH)}
    workers = [Worker(queues="default", extra_env=env).start() for _ in range(2)]
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=_watch_owners, args=(stop, seen), daemon=True)
    try:
        watcher.start()
        run = sync_now_start(connection=connected, kind="full", actor=alice.admin)
        wait_for(lambda: run.refresh_from_db() or run.status not in (SyncRunStatus.QUEUED, SyncRunStatus.RUNNING),
                 timeout=120, message="the run to finish")
    finally:
        stop.set()
        watcher.join()
        emulator_reset.client.clear_faults()
        for worker in workers:
            worker.stop()
    assert run.status == SyncRunStatus.SUCCEEDED, run.message
    assert run.total == 1 + OPPORTUNITIES + ANALYSES  # their department, them, the analyses
    assert run.processed == run.succeeded == run.total and run.failed == 0
    assert not OutboxEntry.objects.exists()
    if parallel:
        assert max(seen) == 2, "two workers pushed batches of the run at the same time"
    else:
        assert max(seen) == 1, "with parallel sync off, one batch of the org at a time"
    # Every record once in Salesforce, each analysis under its opportunity.
    sf = emulator_reset.sf()
    written = sf.query_all("SELECT Cothon_Ref__c, Account.Name FROM Opportunity")["records"]
    assert sorted(r["Cothon_Ref__c"] for r in written) == sorted(o.reference for o in opportunities)
    assert {r["Account"]["Name"] for r in written} == {"Health Canada"}
    parents = [r["Cothon_Opportunity__c"] for r in sf.query_all("SELECT Cothon_Opportunity__c FROM Cothon_Analysis__c")["records"]]
    assert len(parents) == ANALYSES and all(parents)
    # Parents first: each record was written after its own parent.
    written_at = dict(((log.record_type, log.record_id), log.created_at)
                      for log in SyncLog.objects.filter(run=run, result="success").order_by("created_at"))
    for opportunity in opportunities:
        assert written_at[("department", department.pk)] <= written_at[("opportunity", opportunity.pk)]
    for analysis in BidAnalysis.objects.filter(tenant=alice.tenant):
        assert written_at[("opportunity", analysis.opportunity_id)] <= written_at[("analysis", analysis.pk)]
