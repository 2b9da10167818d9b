"""A hand-built drift fixture in the emulator's demo org: alice's opportunities pushed and their
base agreed, then one mismatch of each kind made on purpose."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from opportunities import services as opp
from opportunities.models import Opportunity
from sync_engine.executor import push_connection
from sync_engine.models import SyncLink
from sync_engine.pull.incremental import pull_incremental
from tests.conftest import salesforce_opportunity


@dataclass
class Drift:
    cothon_changed: Opportunity  # a Cothon edit whose push was lost
    salesforce_changed: Opportunity  # a Salesforce edit the pull never brought in
    deleted_in_salesforce: Opportunity
    deleted_in_cothon_sf_id: str
    untouched: Opportunity
    orphan_sf_id: str


def link_of(connection, opportunity) -> SyncLink:
    return SyncLink.objects.get(connection=connection, record_type="opportunity", record_id=opportunity.pk)


def lost_cothon_edit(opportunity: Opportunity, **values) -> None:
    """A Cothon change that never reached the outbox (as if its push were lost): written straight
    to the row, its field times moved on."""
    from django.utils import timezone

    times = {name: timezone.now().isoformat() for name in values}
    Opportunity.objects.filter(pk=opportunity.pk).update(**values, field_changed_at={**opportunity.field_changed_at, **times})


@pytest.fixture
def linked(alice, connected, opportunity_factory):
    """linked(n) -> n of alice's opportunities pushed to the demo org, their base agreed."""
    def make(n: int) -> list[Opportunity]:
        made = [opportunity_factory(alice.tenant, description=f"Cothon's text {i}") for i in range(n)]
        assert push_connection(connection_id=connected.pk).failed == 0
        pull_incremental(connection_id=connected.pk)  # our own push coming back: the base is agreed
        return [Opportunity.objects.get(pk=o.pk) for o in made]
    return make


@pytest.fixture
def drift(alice, connected, linked, emulator_reset) -> Drift:
    sf = emulator_reset.sf()
    a, b, c, d, e = linked(5)
    lost_cothon_edit(a, description="Edited in Cothon, push lost")
    sf.Opportunity.update(link_of(connected, b).salesforce_id, {"Description": "Edited in Salesforce"})
    sf.Opportunity.delete(link_of(connected, c).salesforce_id)
    d_sf_id = link_of(connected, d).salesforce_id
    opp.opportunity_delete(tenant=alice.tenant, opportunity=d)
    orphan = salesforce_opportunity(emulator_reset, name="Copied by hand from an old export", ref="W0000-GONE/A")
    from sync_engine.models import ChangeRecord, OutboxEntry

    # Start from a quiet outbox: whatever the validation queues is its own repair.
    ChangeRecord.objects.all().delete()
    OutboxEntry.objects.all().delete()
    return Drift(a, b, c, d_sf_id, e, orphan)
