"""Pull tests: a tenant connected to the session emulator's demo org (the sync engine's
`connected` fixture of tests/conftest.py), and helpers to edit records in Salesforce as a sales manager would."""

from __future__ import annotations

import pytest


@pytest.fixture
def sf(emulator_reset):
    """simple-salesforce on the demo org, as another Salesforce user editing records."""
    return emulator_reset.sf()


def save_settings(connection, **changes):
    from integrations.sync_settings import settings_current, settings_save

    data = dict(settings_current(connection=connection))
    data.update(changes)
    if "direction" in changes and "import_new" not in changes:
        # As an admin switching the direction sees it: import follows the direction's default.
        data["import_new"] = changes["direction"] == "pull"
    settings_save(connection=connection, data=data, actor=None, against_org=False)
    return data


@pytest.fixture
def department_link(alice, connected, department_factory, opportunity_factory):
    """Health Canada pushed as an Account (with an opportunity for it), then one pull cycle that
    has seen everything (so the next cycles start from the watermarks)."""
    from sync_engine.executor import push_connection
    from sync_engine.models import SyncLink
    from sync_engine.pull.incremental import pull_incremental

    department = department_factory(alice.tenant, "Health Canada")
    opportunity_factory(alice.tenant, department=department)
    assert push_connection(connection_id=connected.pk).failed == 0
    pull_incremental(connection_id=connected.pk)
    return department, SyncLink.objects.get(connection=connected, record_type="department", record_id=department.pk)
