import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.models import SyncRun, SyncRunKind
from sync_engine.services import scheduled_syncs


@pytest.fixture
def connection(alice):
    from integrations.sync_settings import settings_ensure_initial

    conn = SalesforceConnection.objects.create(tenant=alice.tenant, name="Prod", login_url="https://login.salesforce.com",
                                               status=ConnectionStatus.CONNECTED, is_default=True)
    settings_ensure_initial(connection=conn)
    return conn


def test_the_daily_full_sync_starts_at_two_in_the_tenants_time_zone_once(connection, opportunity_factory, alice, django_capture_on_commit_callbacks):
    opportunity_factory(alice.tenant)
    toronto = ZoneInfo(alice.tenant.time_zone)
    before = datetime.datetime(2026, 11, 24, 1, 59, tzinfo=toronto)
    at = datetime.datetime(2026, 11, 24, 2, 0, tzinfo=toronto)
    SyncRun.objects.create(tenant=alice.tenant, connection=connection, kind=SyncRunKind.FULL, status="succeeded")
    SyncRun.objects.filter(connection=connection).update(created_at=before - datetime.timedelta(minutes=20))
    with django_capture_on_commit_callbacks():
        assert [r.kind for r in scheduled_syncs(now=before)] == [SyncRunKind.INCREMENTAL]
    SyncRun.objects.filter(connection=connection).update(status="succeeded", created_at=before)
    with django_capture_on_commit_callbacks():
        assert [r.kind for r in scheduled_syncs(now=at)] == [SyncRunKind.FULL]
    SyncRun.objects.filter(connection=connection, kind=SyncRunKind.FULL, created_at__gt=before).update(status="succeeded", created_at=at)
    assert scheduled_syncs(now=at + datetime.timedelta(minutes=1)) == []  # incremental waits 15 min


def test_nothing_is_scheduled_for_a_disconnected_or_pull_only_connection(connection):
    SalesforceConnection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.DISCONNECTED)
    assert scheduled_syncs(now=timezone.now()) == []


def test_a_new_connection_waits_for_the_admin_to_start_its_first_full_sync(alice, opportunity_factory, django_capture_on_commit_callbacks):
    """"Daily full at 02:00" is not "due" for a connection that never ran: nothing starts on a
    schedule — full or incremental — until an admin (or the demo setup) ran the first full sync."""
    from integrations.sync_settings import settings_ensure_initial

    new = SalesforceConnection.objects.create(tenant=alice.tenant, name="Fresh", login_url="https://login.salesforce.com",
                                              status=ConnectionStatus.CONNECTED, is_default=True)
    settings_ensure_initial(connection=new)
    opportunity_factory(alice.tenant)
    toronto = ZoneInfo(alice.tenant.time_zone)
    for hour in (1, 2, 3, 14):
        assert scheduled_syncs(now=datetime.datetime(2026, 11, 24, hour, 30, tzinfo=toronto)) == []
    assert not SyncRun.objects.filter(connection=new).exists()
    # A cancelled or failed first run is not a completed one.
    SyncRun.objects.create(tenant=alice.tenant, connection=new, kind=SyncRunKind.FULL, status="cancelled")
    assert scheduled_syncs(now=datetime.datetime(2026, 11, 24, 15, 0, tzinfo=toronto)) == []
    SyncRun.objects.create(tenant=alice.tenant, connection=new, kind=SyncRunKind.FULL, status="succeeded")
    SyncRun.objects.filter(connection=new).update(created_at=datetime.datetime(2026, 11, 24, 15, 0, tzinfo=toronto))
    with django_capture_on_commit_callbacks():
        started = scheduled_syncs(now=datetime.datetime(2026, 11, 24, 15, 30, tzinfo=toronto))
    assert [r.kind for r in started] == [SyncRunKind.INCREMENTAL]


def test_the_connection_page_tells_the_admin_to_start_the_first_full_sync(web_as, alice, connection):
    from django.urls import reverse

    url = reverse("integrations:connection", args=[connection.pk])
    assert "Start the first full sync" in web_as(alice.admin).get(url).content.decode()
    SyncRun.objects.create(tenant=alice.tenant, connection=connection, kind=SyncRunKind.FULL, status="finished_with_errors")
    assert "Start the first full sync" not in web_as(alice.admin).get(url).content.decode()
