"""An Account's name renamed on both sides since the last sync (issue 17, the department name):
the same three-way detection and rules as an opportunity's field — last write wins by the
department's own time for its name, Cothon wins pushed back, Salesforce wins applied, review
holds it (no side changes, the push does not send it) until someone resolves it."""

from __future__ import annotations

import datetime

import pytest

from integrations.mapping import account as mapping
from integrations.mapping.conflicts import parse_time
from integrations.sync_settings import settings_current
from opportunities import services as opp
from opportunities.models import Department
from sync_engine.conflicts.services import conflict_resolve
from sync_engine.executor import push_connection
from sync_engine.fanout import fan_out_pending
from sync_engine.models import SyncConflict
from sync_engine.pull.incremental import pull_incremental
from tests.pull.conftest import save_settings


def _both_rename(alice, sf, department, link, *, cothon_later: bool, author=None) -> None:
    sf.Account.update(link.salesforce_id, {"Name": "Health Canada (Salesforce)"})
    stamp = parse_time(sf.Account.get(link.salesforce_id)["LastModifiedDate"])
    department.refresh_from_db()
    opp.department_update(tenant=alice.tenant, department=department, data={"name": "Health Canada (Cothon)"}, changed_by=author)
    when = stamp + datetime.timedelta(minutes=5 if cothon_later else -5)
    Department.objects.filter(pk=department.pk).update(field_changed_at={**department.field_changed_at, "name": when.isoformat()})


def _cycle(connected):
    result = pull_incremental(connection_id=connected.pk)
    fan_out_pending()
    assert push_connection(connection_id=connected.pk).failed == 0
    return result


@pytest.mark.parametrize("cothon_later", [True, False])
def test_last_write_wins_takes_the_later_rename_on_both_sides(alice, connected, sf, department_link, cothon_later):
    department, link = department_link
    _both_rename(alice, sf, department, link, cothon_later=cothon_later)
    result = _cycle(connected)
    assert result.accounts.conflicts_settled == 1
    expected = "Health Canada (Cothon)" if cothon_later else "Health Canada (Salesforce)"
    department.refresh_from_db()
    assert department.name == expected and sf.Account.get(link.salesforce_id)["Name"] == expected


@pytest.mark.parametrize("rule, expected", [("cothon_wins", "Health Canada (Cothon)"),
                                            ("salesforce_wins", "Health Canada (Salesforce)")])
def test_the_account_name_rule_is_applied(alice, connected, sf, department_link, rule, expected):
    save_settings(connected, conflict_rules={**settings_current(connection=connected)["conflict_rules"], "Account.Name": rule})
    department, link = department_link
    _both_rename(alice, sf, department, link, cothon_later=rule == "salesforce_wins")  # the rule, not the times, decides
    _cycle(connected)
    department.refresh_from_db()
    assert department.name == expected and sf.Account.get(link.salesforce_id)["Name"] == expected


def test_review_holds_the_rename_sends_neither_and_resolving_syncs_it(alice, connected, sf, department_link):
    save_settings(connected, flag_conflicts_for_review=True)
    department, link = department_link
    _both_rename(alice, sf, department, link, cothon_later=True, author=alice.member)
    result = _cycle(connected)  # Cothon's rename is pushed too: the held name is not sent
    assert result.accounts.conflicts_held == 1
    department.refresh_from_db()
    assert department.name == "Health Canada (Cothon)" and sf.Account.get(link.salesforce_id)["Name"] == "Health Canada (Salesforce)"
    conflict = SyncConflict.objects.get()
    assert (conflict.record_type, conflict.record_id, conflict.sf_field, conflict.base_value, conflict.cothon_value,
            conflict.salesforce_value, conflict.cothon_changed_by) == (
        "department", department.pk, "Name", "Health Canada", "Health Canada (Cothon)", "Health Canada (Salesforce)", alice.member)
    pull_incremental(connection_id=connected.pk)  # seen again: the same row, no second one
    assert SyncConflict.objects.count() == 1

    conflict_resolve(tenant=alice.tenant, conflict_ids=[conflict.pk], choice="value", value="Health Canada (HC)", actor=alice.admin)
    _cycle(connected)
    department.refresh_from_db()
    assert department.name == "Health Canada (HC)" and sf.Account.get(link.salesforce_id)["Name"] == "Health Canada (HC)"
    assert SyncConflict.objects.get().resolution == "value" and department.field_changed_by["name"] == alice.admin.pk


def test_resolving_refuses_a_name_another_department_uses(alice, connected, sf, department_link, department_factory):
    from django.core.exceptions import ValidationError

    save_settings(connected, flag_conflicts_for_review=True)
    department, link = department_link
    department_factory(alice.tenant, "Transport Canada")
    _both_rename(alice, sf, department, link, cothon_later=True)
    _cycle(connected)
    conflict = SyncConflict.objects.get()
    with pytest.raises(ValidationError):
        conflict_resolve(tenant=alice.tenant, conflict_ids=[conflict.pk], choice="value", value="Transport Canada", actor=alice.admin)
    assert SyncConflict.objects.get().status == "open"


def test_the_mapping_tells_a_conflict_from_a_one_sided_rename():
    department = Department(name="Ours", field_changed_at={"name": "2030-01-01T00:00:00Z"})
    record = {"Name": "Theirs", "LastModifiedDate": "2030-01-02T00:00:00.000+0000"}
    assert mapping.from_salesforce(record, department, base={"Name": "Ours"}).changes == {"name": "Theirs"}  # Salesforce only
    kept = mapping.from_salesforce(record, department, base={"Name": "Theirs"})  # Cothon only
    assert not kept.changes and kept.settled is None
    both = mapping.from_salesforce(record, department, base={"Name": "Agreed"})  # both: Salesforce's is later
    assert both.changes == {"name": "Theirs"} and both.settled == ("last_write_wins", "salesforce")
    held = mapping.from_salesforce(record, department, base={"Name": "Agreed"}, review=True)
    assert not held.changes and held.held.base == "Agreed" and "Name" not in held.agreed


def _push_first(connected):
    """Cothon's rename pushed before any pull has seen Salesforce's: the push guard decides."""
    fan_out_pending()
    assert push_connection(connection_id=connected.pk).failed == 0


@pytest.mark.parametrize("cothon_later", [True, False])
def test_a_push_before_the_pull_does_not_overwrite_a_later_salesforce_rename(alice, connected, sf, department_link,
                                                                             cothon_later):
    department, link = department_link
    _both_rename(alice, sf, department, link, cothon_later=cothon_later)
    _push_first(connected)
    expected = "Health Canada (Cothon)" if cothon_later else "Health Canada (Salesforce)"
    department.refresh_from_db()
    assert department.name == expected and sf.Account.get(link.salesforce_id)["Name"] == expected
    again = pull_incremental(connection_id=connected.pk)  # nothing left to settle
    assert again.accounts.conflicts_held == 0
    department.refresh_from_db()
    assert department.name == expected and not SyncConflict.objects.exists()


def test_with_review_on_a_push_before_the_pull_holds_the_rename_and_sends_neither(alice, connected, sf, department_link):
    save_settings(connected, flag_conflicts_for_review=True)
    department, link = department_link
    _both_rename(alice, sf, department, link, cothon_later=True, author=alice.member)
    _push_first(connected)
    department.refresh_from_db()
    assert department.name == "Health Canada (Cothon)" and sf.Account.get(link.salesforce_id)["Name"] == "Health Canada (Salesforce)"
    conflict = SyncConflict.objects.get()
    assert (conflict.record_type, conflict.cothon_value, conflict.salesforce_value) == (
        "department", "Health Canada (Cothon)", "Health Canada (Salesforce)")


def test_a_rename_only_in_cothon_goes_out(alice, connected, sf, department_link):
    department, link = department_link
    department.refresh_from_db()
    opp.department_update(tenant=alice.tenant, department=department, data={"name": "Health Canada (Cothon)"})
    _push_first(connected)
    assert sf.Account.get(link.salesforce_id)["Name"] == "Health Canada (Cothon)" and not SyncConflict.objects.exists()
