"""Three-way detection and the rules, as pure functions: no database, no Salesforce."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from integrations.mapping import conflicts
from integrations.mapping.opportunity_inbound import InboundContext, opportunity_from_salesforce
from integrations.settings_schema import default_settings_dict
from opportunities.models import Opportunity

T0 = datetime.datetime(2030, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("base, cothon, salesforce, kind", [
    ("a", "a", "a", conflicts.UNCHANGED),
    ("a", "b", "b", conflicts.AGREED),  # both changed to the same value
    ("a", "b", "a", conflicts.COTHON),  # one side only: not a conflict
    ("a", "a", "c", conflicts.SALESFORCE),
    ("a", "b", "c", conflicts.CONFLICT),
    (conflicts.MISSING, "b", "c", conflicts.SALESFORCE),  # no base: Salesforce's change, as before
])
def test_detection_compares_both_sides_with_the_base(base, cothon, salesforce, kind):
    assert conflicts.detect(base, cothon, salesforce) == kind


def test_rules_pick_a_side_and_last_write_wins_compares_times():
    later, earlier = T0 + datetime.timedelta(minutes=5), T0
    assert conflicts.winner("cothon_wins", earlier, later) == conflicts.COTHON
    assert conflicts.winner("salesforce_wins", later, earlier) == conflicts.SALESFORCE
    assert conflicts.winner("last_write_wins", later, earlier) == conflicts.COTHON
    assert conflicts.winner("last_write_wins", earlier, later) == conflicts.SALESFORCE
    assert conflicts.winner("last_write_wins", None, earlier) == conflicts.SALESFORCE  # no time known for Cothon's
    assert conflicts.winner("last_write_wins", T0, T0) == conflicts.SALESFORCE


def _opportunity(**changed_at) -> Opportunity:
    return Opportunity(pk=7, tenant_id=1, title="Cloud hosting", reference="W-1", status="qualified", description="Ours",
                       value_min=Decimal("200000"), value_max=None, closing_date=datetime.date(2030, 6, 1),
                       field_changed_at={k: v.isoformat() for k, v in changed_at.items()})


def _ctx(**settings) -> InboundContext:
    data = default_settings_dict()
    data.update(settings)
    return InboundContext(settings=data)


def _record(**fields) -> dict:
    return {"Id": "006000000000001AAA", "SystemModstamp": "2030-01-01T12:10:00.000+0000",
            "LastModifiedDate": "2030-01-01T12:10:00.000+0000", **fields}


BASE = {"Amount": 100000.0, "StageName": "Prospecting", "Description": "Agreed", "CloseDate": "2030-05-01"}


def test_cothon_wins_keeps_cothons_amount_and_asks_for_a_push():
    result = opportunity_from_salesforce(_record(Amount=150000), _opportunity(value_min=T0), _ctx(), base=BASE)
    assert "value_min" not in result.changes and result.push_back == {"value_min", "value_max"}
    assert result.settled == [("Amount", "cothon_wins", "cothon")] and "Amount" not in result.agreed


def test_salesforce_wins_takes_salesforces_value_even_when_cothons_is_newer():
    rules = {**default_settings_dict()["conflict_rules"], "Description": "salesforce_wins"}
    late = T0 + datetime.timedelta(hours=1)
    result = opportunity_from_salesforce(_record(Description="Theirs"), _opportunity(description=late),
                                         _ctx(conflict_rules=rules), base=BASE)
    assert result.changes["description"] == "Theirs" and not result.push_back
    assert result.settled == [("Description", "salesforce_wins", "salesforce")]


def test_last_write_wins_uses_the_fields_own_time_not_the_rows():
    # Cothon changed the stage at 12:20 (after Salesforce's 12:10); its description long before.
    opportunity = _opportunity(status=T0 + datetime.timedelta(minutes=20), description=T0 - datetime.timedelta(days=1))
    result = opportunity_from_salesforce(_record(StageName="Closed Won", Description="Theirs"), opportunity, _ctx(), base=BASE)
    assert "status" not in result.changes and result.push_back == {"status"}
    assert result.changes["description"] == "Theirs"
    assert sorted(result.settled) == [("Description", "last_write_wins", "salesforce"), ("StageName", "last_write_wins", "cothon")]


def test_a_change_on_one_side_only_is_not_a_conflict():
    opportunity = _opportunity(description=T0)
    theirs = opportunity_from_salesforce(_record(Description="Theirs", Amount=200000), opportunity, _ctx(),
                                         base={**BASE, "Description": "Ours", "Amount": 200000.0})
    assert theirs.changes == {"description": "Theirs"} and not theirs.settled and not theirs.held
    ours = opportunity_from_salesforce(_record(Description="Agreed"), opportunity, _ctx(), base=BASE)
    assert not ours.changes and not ours.settled and not ours.push_back  # Cothon's change waits for its own push


def test_review_holds_a_conflict_and_changes_neither_side():
    result = opportunity_from_salesforce(_record(Amount=150000, Description="Theirs"), _opportunity(value_min=T0), _ctx(
        flag_conflicts_for_review=True), base=BASE)
    assert not result.changes and not result.push_back and not result.settled
    assert [(h.sf_field, h.base, h.cothon, h.salesforce) for h in result.held] == [
        ("Amount", 100000.0, 200000.0, 150000.0), ("Description", "Agreed", "Ours", "Theirs")]
    assert result.held[0].cothon_changed_at == T0 and result.held[0].salesforce_changed_at == T0 + datetime.timedelta(minutes=10)
    assert "Amount" not in result.agreed and "Description" not in result.agreed


def test_a_field_the_push_never_sends_takes_salesforces_value():
    result = opportunity_from_salesforce(_record(Amount=150000), _opportunity(value_min=T0),
                                         _ctx(direction="hybrid", field_directions={"Amount": "pull"}), base=BASE)
    assert result.changes["value_min"] == Decimal("150000.00") and not result.push_back
