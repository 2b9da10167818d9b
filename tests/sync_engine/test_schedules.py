import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.models import OutboxEntry, SyncRun, SyncRunKind
from sync_engine.services import scheduled_syncs


@pytest.fixture
def connection(alice):
    from integrations.sync_settings import settings_ensure_initial

    conn = SalesforceConnection.objects.create(tenant=alice.tenant, name="Prod", login_url="https://login.salesforce.com",
                                               status=ConnectionStatus.CONNECTED, is_default=True)
    settings_ensure_initial(connection=conn)
    return conn


def test_the_daily_validation_and_push_start_at_two_in_the_tenants_time_zone_once(connection, opportunity_factory, alice,
                                                                                    django_capture_on_commit_callbacks):
    opportunity_factory(alice.tenant)
    toronto = ZoneInfo(alice.tenant.time_zone)
    before = datetime.datetime(2026, 11, 24, 1, 59, tzinfo=toronto)
    at = datetime.datetime(2026, 11, 24, 2, 0, tzinfo=toronto)
    SyncRun.objects.create(tenant=alice.tenant, connection=connection, kind=SyncRunKind.FULL, status="succeeded")
    SyncRun.objects.filter(connection=connection).update(created_at=before - datetime.timedelta(minutes=20))
    with django_capture_on_commit_callbacks():
        assert [r.kind for r in scheduled_syncs(now=before)] == [SyncRunKind.INCREMENTAL]
    SyncRun.objects.filter(connection=connection).update(status="succeeded", created_at=before)
    OutboxEntry.objects.all().delete()  # the incremental run went out
    with django_capture_on_commit_callbacks(execute=False) as sent:
        started = scheduled_syncs(now=at)
    assert [r.kind for r in started] == [SyncRunKind.VALIDATION, SyncRunKind.FULL]
    assert started[0].drift_report.status == "running" and len(sent) >= 1  # the validation task goes out after commit
    # The daily push leaves linked opportunities to the validation: this one has no link yet, so it goes.
    assert started[1].total == 1
    SyncRun.objects.filter(connection=connection, created_at__gt=before).update(status="succeeded", created_at=at)
    assert scheduled_syncs(now=at + datetime.timedelta(minutes=1)) == []  # incremental waits 15 min; validation ran today


def test_the_daily_validation_follows_the_tenants_own_clock(connection, alice, django_capture_on_commit_callbacks):
    from cothon.models import Tenant

    Tenant.objects.filter(pk=alice.tenant.pk).update(time_zone="Asia/Tokyo")
    tokyo = ZoneInfo("Asia/Tokyo")
    SyncRun.objects.create(tenant=alice.tenant, connection=connection, kind=SyncRunKind.FULL, status="succeeded")
    SyncRun.objects.filter(connection=connection).update(created_at=datetime.datetime(2026, 11, 23, 12, 0, tzinfo=tokyo))
    with django_capture_on_commit_callbacks():
        early = scheduled_syncs(now=datetime.datetime(2026, 11, 24, 1, 59, tzinfo=tokyo))
    assert SyncRunKind.VALIDATION not in [r.kind for r in early]
    with django_capture_on_commit_callbacks():
        due = scheduled_syncs(now=datetime.datetime(2026, 11, 24, 2, 0, tzinfo=tokyo))  # 17:00 UTC the day before
    assert [r.kind for r in due][:1] == [SyncRunKind.VALIDATION]


def test_a_pull_only_connection_is_validated_daily_but_pushes_nothing(connection, alice, django_capture_on_commit_callbacks):
    from tests.pull.conftest import save_settings

    save_settings(connection, direction="pull")
    toronto = ZoneInfo(alice.tenant.time_zone)
    SyncRun.objects.create(tenant=alice.tenant, connection=connection, kind=SyncRunKind.FULL, status="succeeded")
    SyncRun.objects.filter(connection=connection).update(created_at=datetime.datetime(2026, 11, 23, 12, 0, tzinfo=toronto))
    with django_capture_on_commit_callbacks():
        started = scheduled_syncs(now=datetime.datetime(2026, 11, 24, 2, 5, tzinfo=toronto))
    assert [r.kind for r in started] == [SyncRunKind.VALIDATION]


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
