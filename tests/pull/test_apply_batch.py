"""Applying a page of linked records: a fixed number of queries whatever its size, with the
rules of the record-by-record path (a refused value left out, a refused record failed alone,
changes recorded with origin=salesforce)."""

from __future__ import annotations

from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from opportunities.models import Opportunity
from sync_engine.executor import push_connection
from sync_engine.models import ChangeRecord, SyncLink, SyncLog
from sync_engine.pull.incremental import pull_incremental


def _pushed(connected, tenant, opportunity_factory, n: int) -> list[tuple[int, str]]:
    opportunities = [opportunity_factory(tenant, description="Ours") for _ in range(n)]
    assert push_connection(connection_id=connected.pk).failed == 0
    links = dict(SyncLink.objects.filter(connection=connected, record_type="opportunity").values_list("record_id", "salesforce_id"))
    return [(o.pk, links[o.pk]) for o in opportunities]


def _edit(sf, records: list[dict]) -> None:
    """A sales team's mass update: the composite API, 200 records a call."""
    for start in range(0, len(records), 200):
        body = {"allOrNone": False, "records": [{"attributes": {"type": "Opportunity"}, **r} for r in records[start:start + 200]]}
        results = sf.restful("composite/sobjects", method="PATCH", json=body)
        assert all(r["success"] for r in results), results


def _pull_queries(connected) -> tuple[int, object]:
    with CaptureQueriesContext(db) as queries:
        result = pull_incremental(connection_id=connected.pk)
    return len(queries), result


def test_the_queries_of_applying_a_page_do_not_grow_with_its_size(alice, connected, sf, opportunity_factory):
    counts: dict[int, int] = {}
    pairs: list[tuple[int, str]] = []
    for size, text in ((10, "Changed by sales, small page"), (50, "Changed by sales, larger page")):
        pairs += _pushed(connected, alice.tenant, opportunity_factory, size - len(pairs))
        pull_incremental(connection_id=connected.pk)  # our own push coming back: echoes
        _edit(sf, [{"Id": sf_id, "Description": text, "StageName": "Qualification"} for _pk, sf_id in pairs])
        counts[size], result = _pull_queries(connected)
        assert result.summary.applied == size and result.summary.failed == 0, result
        assert set(Opportunity.objects.filter(pk__in=[pk for pk, _ in pairs]).values_list("description", flat=True)) == {text}
    assert counts[50] == counts[10], counts
    assert counts[10] < 60, counts
    changes = ChangeRecord.objects.filter(record_id__in=[pk for pk, _ in pairs], fields__contains=["description"])
    assert changes.count() == 50 and set(changes.values_list("origin", "origin_connection_id")) == {("salesforce", connected.pk)}


def test_a_reference_another_opportunity_uses_is_left_out_and_the_rest_applied(alice, connected, sf, opportunity_factory):
    (first, first_sf), (second, second_sf) = _pushed(connected, alice.tenant, opportunity_factory, 2)
    taken = opportunity_factory(alice.tenant).reference  # a Cothon opportunity not in Salesforce yet
    _edit(sf, [{"Id": second_sf, "Cothon_Ref__c": taken, "Description": "Theirs"},
               {"Id": first_sf, "Description": "Theirs too"}])
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.applied == 2 and result.summary.failed == 0, result
    second_row = Opportunity.objects.get(pk=second)
    assert second_row.description == "Theirs" and second_row.reference not in (taken, "")
    assert Opportunity.objects.get(pk=first).description == "Theirs too"
    log = SyncLog.objects.get(direction="pull", record_id=second)
    assert log.error_code == "FIELDS_SKIPPED" and "already uses this reference" in log.error_message
    link = SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=second)
    assert link.base_snapshot.get("Cothon_Ref__c") != taken, "a refused value is not agreed on"
    assert link.base_snapshot.get("Description") == "Theirs"


def test_a_record_cothon_refuses_for_another_field_fails_alone(alice, connected, sf, opportunity_factory):
    (bad, bad_sf), (good, good_sf) = _pushed(connected, alice.tenant, opportunity_factory, 2)
    Opportunity.objects.filter(pk=bad).update(title="")  # invalid already in Cothon (an old import, say)
    _edit(sf, [{"Id": bad_sf, "Description": "Theirs"}, {"Id": good_sf, "Description": "Theirs"}])
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.failed == 1 and result.summary.applied == 1, result
    assert Opportunity.objects.get(pk=bad).description == "Ours"
    assert Opportunity.objects.get(pk=good).description == "Theirs"
    log = SyncLog.objects.get(direction="pull", record_id=bad)
    assert (log.result, log.error_code) == ("failed", "INVALID_VALUE") and "Title is required" in log.error_message
    link = SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=bad)
    assert link.base_snapshot.get("Description") != "Theirs", "a failed record's link is not settled"


def test_a_batch_the_database_refuses_is_applied_record_by_record(alice, connected, sf, opportunity_factory):
    """A takes a reference a Cothon-only opportunity holds (refused) while B takes A's: the
    batch's check lets B through, the unique constraint does not (A keeps its reference). The
    batch rolls back whole and each record is applied alone, nothing twice."""
    (first, first_sf), (second, second_sf) = _pushed(connected, alice.tenant, opportunity_factory, 2)
    held = opportunity_factory(alice.tenant).reference
    first_ref, second_ref = (Opportunity.objects.get(pk=pk).reference for pk in (first, second))
    ChangeRecord.objects.all().delete()
    _edit(sf, [{"Id": first_sf, "Cothon_Ref__c": held, "Description": "First"},
               {"Id": second_sf, "Cothon_Ref__c": first_ref, "Description": "Second"}])
    result = pull_incremental(connection_id=connected.pk)
    assert result.summary.applied == 2 and result.summary.failed == 0, result
    rows = {o.pk: o for o in Opportunity.objects.filter(pk__in=[first, second])}
    assert (rows[first].reference, rows[first].description) == (first_ref, "First")
    assert (rows[second].reference, rows[second].description) == (second_ref, "Second")
    logs = list(SyncLog.objects.filter(direction="pull", record_id__in=[first, second]).values_list("record_id", "error_code"))
    assert sorted(logs) == sorted([(first, "FIELDS_SKIPPED"), (second, "FIELDS_SKIPPED")])
    changes = list(ChangeRecord.objects.filter(record_id__in=[first, second]).values_list("record_id", "fields"))
    assert sorted(pk for pk, _fields in changes) == sorted([first, second]), "one change each: the refused batch left none"
    assert all("description" in fields and "reference" not in fields for _pk, fields in changes), changes


def test_conflicts_held_on_a_page_do_not_grow_its_queries(alice, connected, sf, opportunity_factory):
    """Held conflicts cost the same statements for 10 records as for 30 (the page's open
    conflicts read, one INSERT; refreshing open ones is one UPDATE more, whatever their number)."""
    from opportunities.services import opportunity_update
    from sync_engine.models import SyncConflict
    from tests.pull.conftest import save_settings

    save_settings(connected, flag_conflicts_for_review=True)
    counts: dict[int, int] = {}
    for size in (10, 30):
        pairs = _pushed(connected, alice.tenant, opportunity_factory, size)
        pull_incremental(connection_id=connected.pk)
        for pk, _sf_id in pairs:
            opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=pk), data={"description": f"Ours {size}"})
        _edit(sf, [{"Id": sf_id, "Description": f"Theirs {size}"} for _pk, sf_id in pairs])
        counts[size], result = _pull_queries(connected)
        assert result.summary.conflicts_held == size, result
    assert counts[30] == counts[10], counts
    assert SyncConflict.objects.filter(status="open").count() == 40
