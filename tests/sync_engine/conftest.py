"""A tenant connected to the session emulator's demo org, through the real connect flow."""

from __future__ import annotations

import pytest

from integrations import connections as svc
from integrations.models import Environment
from sync_engine.governor import get_governor


@pytest.fixture
def connected(alice, emulator_reset):
    """Alice's organization connected to the demo org (client credentials), with no governor
    memory before or after the test."""
    creds = emulator_reset.demo
    connection = svc.connection_create(
        tenant=alice.tenant, name="Demo org", environment=Environment.CUSTOM, login_url=emulator_reset.instance_url,
        client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle,
        actor=alice.admin)
    connection = svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)
    get_governor().resume(connection.pk)
    yield connection
    get_governor().resume(connection.pk)
