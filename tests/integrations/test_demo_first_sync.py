"""`make run`'s demo connect still runs the first full sync itself, so the scheduler takes over
from there (a connection is scheduled only after its first full sync, issue 15 #4)."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.models import SalesforceConnection
from sync_engine.models import SyncRunKind
from sync_engine.services import first_full_sync_done, scheduled_syncs


@pytest.fixture(autouse=True)
def loopback_oauth(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def test_the_demo_connect_runs_the_first_full_sync_and_the_schedule_starts_after_it(db, emulator_reset, tmp_path,
                                                                                  django_capture_on_commit_callbacks):
    call_command("seed_demo", opportunities=6)
    paths = {}
    for org in ("demo", "sandbox"):
        paths[org] = tmp_path / f"{org}.json"
        paths[org].write_text(json.dumps(emulator_reset.creds(org)))
    call_command("connect_demo_orgs", demo_credentials=str(paths["demo"]), sandbox_credentials=str(paths["sandbox"]))
    connections = list(SalesforceConnection.objects.all())
    assert len(connections) == 2 and {c.org_id[:15] for c in connections} == {emulator_reset.demo["org_id"][:15],
                                                                               emulator_reset.sandbox["org_id"][:15]}
    assert all(c.status == "connected" and c.push_enabled and c.is_default for c in connections)
    assert all(first_full_sync_done(c) for c in connections)
    with django_capture_on_commit_callbacks():
        started = scheduled_syncs(now=timezone.now() + datetime.timedelta(minutes=16))  # the incremental is due
    assert {r.connection_id for r in started} == {c.pk for c in connections}
    assert all(r.kind in (SyncRunKind.FULL, SyncRunKind.INCREMENTAL) for r in started)
