"""Numbers at their bounds reach Salesforce, and a row stored out of range before the bounds
existed does not stop the push worker (issue #15: the sync workers failed on it on SQLite)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opportunities.models import Opportunity
from opportunities.numbers import MONEY_MAX
from sync_engine.executor import push_connection
from tests.sync_engine.test_push_e2e import sf_records

pytestmark = pytest.mark.emulator


def _pushed(emulator, opportunity) -> dict:
    [record] = sf_records(emulator, "SELECT Amount, Cothon_Max_Value__c FROM Opportunity "
                                    f"WHERE Cothon_Ref__c = '{opportunity.reference}'")
    return record


def test_the_largest_accepted_value_is_pushed_exactly(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, value_min=MONEY_MAX, value_max=MONEY_MAX)
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0 and summary.succeeded >= 1, summary
    record = _pushed(emulator_reset, opportunity)
    assert Decimal(str(record["Amount"])) == MONEY_MAX and Decimal(str(record["Cothon_Max_Value__c"])) == MONEY_MAX


def test_a_row_stored_out_of_range_is_pushed_without_stopping_the_worker(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    other = opportunity_factory(alice.tenant, title="Ordinary")
    Opportunity.objects.filter(pk=opportunity.pk).update(value_min=Decimal("99999999999999.99"),
                                                         value_max=Decimal("99999999999999.99"))
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0 and summary.succeeded >= 2, summary
    # 16 significant digits: SQLite keeps 15 of them, and the push sends a JSON number (a double),
    # so Salesforce gets it within two cents (one reason the bound is 15 digits). It fits currency(18, 2).
    pushed = Decimal(str(_pushed(emulator_reset, opportunity)["Amount"]))
    assert abs(pushed - Decimal("99999999999999.99")) <= Decimal("0.02")
    assert _pushed(emulator_reset, other)["Amount"] == 175000
