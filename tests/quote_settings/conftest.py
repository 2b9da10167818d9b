"""Quote settings tests: alice connected to the emulator's demo org (Developer Edition; other
editions through the emulator's /_emulator/edition hook)."""

from __future__ import annotations

import pytest

@pytest.fixture
def connected_as(connected, emulator_reset):
    """connected_as("Essentials Edition"): alice's connection to the demo org, now of that
    edition (the emulator's reset at the next test restores the org definition's)."""

    def make(edition: str):
        assert emulator_reset.client.set_edition(edition, org="demo")["edition"] == edition
        return connected

    return make
