"""`make run`'s demo orgs get real-time pull: the demo connect sets up the Outbound Message rule
(through the Tooling API, or the local emulator's hook while its Tooling API lacks it)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from integrations.models import SalesforceConnection
from sync_engine.pull.outbound import receiver_path


@pytest.fixture(autouse=True)
def loopback_oauth(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def test_the_demo_connect_switches_real_time_pull_on_for_both_orgs(db, emulator_reset, tmp_path):
    call_command("seed_demo", opportunities=2)
    paths = {}
    for org in ("demo", "sandbox"):
        paths[org] = tmp_path / f"{org}.json"
        paths[org].write_text(json.dumps(emulator_reset.creds(org)))
    call_command("connect_demo_orgs", demo_credentials=str(paths["demo"]), sandbox_credentials=str(paths["sandbox"]), no_sync=True)
    rules = emulator_reset.client.session.get(f"{emulator_reset.http_url}/_emulator/outbound/rules", timeout=30).json()
    endpoints = {r["endpoint_url"] for r in (rules if isinstance(rules, list) else rules.get("rules", []))}
    for connection in SalesforceConnection.objects.all():
        assert any(url.endswith(receiver_path(connection)) for url in endpoints), (connection, endpoints)
