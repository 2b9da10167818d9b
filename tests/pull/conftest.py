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
