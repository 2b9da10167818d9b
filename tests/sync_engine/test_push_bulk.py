"""Bulk API 2.0 push: the poll schedule, a group split into several jobs whose results are
settled job by job, and what a failure in one job does (and does not do) to the others."""

from __future__ import annotations

import itertools

import pytest

from integrations.sync_settings import settings_current, settings_save
from sync_engine.fanout import fan_out_pending
from sync_engine.models import AccountCacheEntry, LinkStatus, OutboxEntry, SyncLink, SyncLog
from sync_engine.push import bulk, writer
from sync_engine.services import sync_now_start, sync_run_execute_inline


def _first(delays, n):
    return list(itertools.islice(delays, n))


def test_polling_starts_short_and_backs_off_to_two_seconds():
    delays = _first(bulk.poll_delays(), 14)
    assert delays[0] == pytest.approx(0.05)
    assert all(b >= a for a, b in zip(delays, delays[1:]))  # never polls faster than before
    assert delays[1] == pytest.approx(0.05) and delays[2] == pytest.approx(0.075)
    assert max(delays) == pytest.approx(2.0)
    # A one-second job is seen within about half a second of finishing, in a handful of checks.
    elapsed = list(itertools.accumulate(delays))
    checks = next(i for i, t in enumerate(elapsed) if t >= 1.0) + 1
    assert checks <= 9 and elapsed[checks - 1] < 1.6


def test_a_job_running_for_minutes_is_checked_every_tenth_of_its_age_at_most_every_30_s():
    delays = _first(bulk.poll_delays(), 200)
    elapsed = list(itertools.accumulate(delays))
    at_two_minutes = next(d for d, t in zip(delays, elapsed) if t > 120)
    assert 10 <= at_two_minutes <= 14  # not every 2 s for a slow org's long job
    assert max(delays) == pytest.approx(30.0)
    assert sum(1 for t in elapsed if t <= 3600) < 200  # an hour-long job: a bounded number of calls


def test_an_expected_duration_puts_the_first_check_just_before_it():
    delays = _first(bulk.poll_delays(expected=4.0), 3)
    assert delays[0] == pytest.approx(3.4)  # 85 % of the expected time
    assert delays[1] == pytest.approx(0.4)  # then a tenth of it, growing
    assert delays[2] == pytest.approx(0.6)


def _full_sync_by_bulk(connected, admin, threshold: int):
    data = settings_current(connection=connected)
    data["bulk_threshold"] = threshold
    settings_save(connection=connected, data=data, actor=admin, against_org=False)
    fan_out_pending()
    OutboxEntry.objects.all().delete()  # as if created before the connection: the full sync sends them
    return sync_run_execute_inline(run=sync_now_start(connection=connected, kind="full", actor=admin, enqueue=False))


def test_a_group_above_the_job_size_goes_as_several_jobs_each_settled_with_its_own_calls(
        alice, connected, emulator_reset, opportunity_factory, monkeypatch):
    monkeypatch.setattr(bulk, "JOB_ROWS", 10)
    opportunities = [opportunity_factory(alice.tenant) for _ in range(24)]
    bad = opportunity_factory(alice.tenant, closing_date=None)  # CloseDate is required: fails in the last job
    settled_per_call = []
    real_settle = writer.settle

    def spy(ctx, sobject, items, **kwargs):
        if sobject == "Opportunity":
            settled_per_call.append(len(items))
        return real_settle(ctx, sobject, items, **kwargs)

    monkeypatch.setattr(writer, "settle", spy)
    emulator_reset.client.reset_counters()
    run = _full_sync_by_bulk(connected, alice.admin, threshold=20)

    assert (run.succeeded, run.failed) == (24, 1)
    assert settled_per_call == [9, 9, 7, 0]  # 25 rows as three jobs, each settled when done; then the rest (none)
    links = SyncLink.objects.filter(record_type="opportunity", status=LinkStatus.SYNCED)
    assert sorted(links.values_list("record_id", flat=True)) == sorted(o.pk for o in opportunities)
    refs = ", ".join(f"'{o.reference}'" for o in opportunities)
    assert emulator_reset.sf().query(f"SELECT COUNT() FROM Opportunity WHERE Cothon_Ref__c IN ({refs})")["totalSize"] == 24
    failed = SyncLog.objects.get(operation="bulk_upsert", result="failed")
    assert failed.record_id == bad.pk and failed.error_code == "REQUIRED_FIELD_MISSING"
    assert SyncLink.objects.get(record_type="opportunity", record_id=bad.pk).status == LinkStatus.FAILED
    # Each job's requests are on its first row: create + upload, close, ≥ 1 check, results.
    job_calls = list(SyncLog.objects.filter(operation="bulk_upsert", api_calls__gt=0).values_list("api_calls", flat=True))
    assert len(job_calls) == 3 and all(5 <= calls <= 12 for calls in job_calls)


def test_a_job_that_fails_keeps_the_links_of_the_jobs_before_it_and_queues_its_rows_again(
        alice, connected, emulator_reset, opportunity_factory, monkeypatch):
    monkeypatch.setattr(bulk, "JOB_ROWS", 10)
    opportunities = [opportunity_factory(alice.tenant) for _ in range(20)]
    real_settle = writer.settle

    def break_after_first_job(ctx, sobject, items, **kwargs):
        real_settle(ctx, sobject, items, **kwargs)
        if sobject == "Opportunity" and items:
            # Every later status check of a job fails: the second job never reports back.
            emulator_reset.client.add_fault(org="demo", path_contains="/jobs/ingest/", method="GET", status=500,
                                            error_code="UNKNOWN_EXCEPTION")

    monkeypatch.setattr(writer, "settle", break_after_first_job)
    run = _full_sync_by_bulk(connected, alice.admin, threshold=20)
    emulator_reset.client.clear_faults()

    linked = set(SyncLink.objects.filter(record_type="opportunity", status=LinkStatus.SYNCED).values_list("record_id", flat=True))
    assert len(linked) == 10  # the first job's records: done, linked, logged
    assert set(SyncLog.objects.filter(operation="bulk_upsert", result="success").values_list("record_id", flat=True)) == linked
    queued = set(OutboxEntry.objects.filter(record_type="opportunity", state="pending").values_list("record_id", flat=True))
    # The second job's rows go back to the queue; so do the first job's, whose Tasks (the
    # follow-up an opportunity may trigger) were not written yet: a retry upserts them again.
    assert queued == {o.pk for o in opportunities}
    assert run.failed == 0


def _org_state(emulator, tenant_id: int) -> dict:
    """What a full sync left: per record, its link (hash, snapshot) and the Salesforce record's
    sent fields as the org stores them, Salesforce Ids replaced by the Cothon record they link
    (the two runs create records with different Ids)."""
    links = list(SyncLink.objects.filter(tenant_id=tenant_id).order_by("record_type", "record_id"))
    names = {link.salesforce_id[:15]: f"{link.record_type}:{link.record_id}" for link in links if link.salesforce_id}

    def plain(value):
        return names.get(value[:15], value) if isinstance(value, str) and len(value) in (15, 18) else value

    sf = emulator.sf()
    state = {}
    for link in links:
        fields = sorted(link.base_snapshot)
        [record] = sf.query(f"SELECT {', '.join(fields)} FROM {link.sobject} WHERE Id = '{link.salesforce_id}'")["records"]
        snapshot = {k: plain(v) for k, v in link.base_snapshot.items()}
        state[(link.record_type, link.record_id)] = {
            "status": link.status, "snapshot": snapshot, "salesforce": {k: plain(record[k]) for k in fields},
            # The hash covers the values sent, a parent's Salesforce Id included (which differs by run).
            "hash": link.pushed_hash if snapshot == link.base_snapshot else "covers an Id"}
    return state


def test_bulk_jobs_write_the_same_records_links_and_hashes_as_collections(
        alice, connected, emulator_reset, department_factory, opportunity_factory):
    from opportunities import services as opp

    department = department_factory(alice.tenant, 'Public Works, "Ontario" region')
    for i, title in enumerate(["Plain title", 'Quotes "inside", and a comma', "Two\nlines", "Accents é ü — “curly”",
                               "#N/A looks like the null mark"]):
        opportunity = opportunity_factory(alice.tenant, title=title, department=department if i % 2 else None,
                                          value_min=100000 + i, value_max=None if i == 3 else 250000, status="pursuing")
        analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunity, summary=f"Fit {i}",
                                       key_findings="Strong fit\nPricing risk" if i % 2 else "")
        for k, kind in enumerate(("mandatory", "rated")):
            opp.requirement_add(tenant=alice.tenant, analysis=analysis, code=f"M{k}", text=f'Requirement, "{k}"\nsecond line',
                                kind=kind, capability_match="met" if k else "unknown")
        opp.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=80 + i)

    by_collections = _full_sync_by_bulk(connected, alice.admin, threshold=1_000_000)
    assert by_collections.failed == 0 and not SyncLog.objects.filter(operation__startswith="bulk_").exists()
    expected = _org_state(emulator_reset, alice.tenant.pk)

    emulator_reset.client.reset()  # a fresh org: the records, the links and what we knew of its Accounts go
    SyncLink.objects.all().delete()
    SyncLog.objects.all().delete()
    AccountCacheEntry.objects.all().delete()
    by_bulk = _full_sync_by_bulk(connected, alice.admin, threshold=2)
    assert by_bulk.failed == 0 and by_bulk.succeeded == by_collections.succeeded
    assert {"Opportunity", "Cothon_Analysis__c", "Cothon_Requirement__c"} <= set(
        SyncLog.objects.filter(operation="bulk_upsert").values_list("sobject", flat=True))
    assert _org_state(emulator_reset, alice.tenant.pk) == expected
    assert len(expected) == 1 + 5 + 5 + 10  # the Account, the opportunities, analyses and requirements
