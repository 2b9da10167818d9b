"""Drift reports are kept 30 days; the daily push leaves linked opportunities to the validation."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.models import OutboxEntry, SyncLink
from sync_engine.services import daily_push_start, scheduled_syncs
from sync_engine.validation.models import DriftReport


@pytest.fixture
def connection(alice):
    from integrations.sync_settings import settings_ensure_initial

    conn = SalesforceConnection.objects.create(tenant=alice.tenant, name="Prod", login_url="https://login.salesforce.com",
                                               status=ConnectionStatus.CONNECTED, is_default=True)
    settings_ensure_initial(connection=conn)
    return conn


def test_reports_older_than_thirty_days_are_purged_by_the_schedule(alice, connection):
    now = timezone.now()
    old, recent = (DriftReport.objects.create(tenant=alice.tenant, connection=connection, status="complete") for _ in range(2))
    DriftReport.objects.filter(pk=old.pk).update(created_at=now - datetime.timedelta(days=30, minutes=1))
    DriftReport.objects.filter(pk=recent.pk).update(created_at=now - datetime.timedelta(days=29, hours=23))
    scheduled_syncs(now=now)
    assert list(DriftReport.objects.values_list("pk", flat=True)) == [recent.pk]


def test_the_daily_push_sends_unlinked_and_changed_records_but_not_linked_unchanged_ones(alice, connection, opportunity_factory,
                                                                                       department_factory,
                                                                                       django_capture_on_commit_callbacks):
    from sync_engine.models import SyncRun

    department = department_factory(alice.tenant)
    linked, unlinked = opportunity_factory(alice.tenant), opportunity_factory(alice.tenant)
    SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=linked.pk,
                            sobject="Opportunity", salesforce_id="006000000000001AAA", status="synced")
    SyncRun.objects.create(tenant=alice.tenant, connection=connection, kind="incremental", status="succeeded")
    with django_capture_on_commit_callbacks():
        run = daily_push_start(connection=connection)
    queued = set(OutboxEntry.objects.filter(run=run).values_list("record_type", "record_id"))
    assert queued == {("department", department.pk), ("opportunity", unlinked.pk)}
