"""sync_engine.rows writes exactly what bulk_create would, whatever the text holds."""

import pytest
from django.utils import timezone

from integrations.models import SalesforceConnection
from sync_engine.links import _LINK_COLUMNS, _LINK_UPDATE_FIELDS
from sync_engine.models import SyncLink, SyncLog
from sync_engine.push.context import LOG_COLUMNS
from sync_engine.rows import insert_rows

AWKWARD = ['plain', 'a "quoted", comma', "two\nlines", "\\N", "", "accents: é ü — “curly”"]


@pytest.fixture
def connection(alice):
    return SalesforceConnection.objects.create(tenant=alice.tenant, name="Production", login_url="https://login.salesforce.com")


def test_log_rows_keep_their_text_nulls_and_times(alice, connection):
    now = timezone.now()
    rows = [(alice.tenant.pk, connection.pk, None, now, "opportunity", i if i else None, text, "Opportunity", "", "push", "upsert",
             "failed", "CODE", text, text, 1, 2, 3, now if i else None, i) for i, text in enumerate(AWKWARD)]
    insert_rows(SyncLog, LOG_COLUMNS, rows)
    saved = list(SyncLog.objects.order_by("id").values_list("record_id", "record_label", "error_message", "hint", "run_id", "created_at",
                                                             "queued_at", "attempts"))
    assert saved == [(i if i else None, text, text, text, None, now, now if i else None, i) for i, text in enumerate(AWKWARD)]


@pytest.mark.parametrize("copy_from", [1, 10_000], ids=["through COPY and a scratch table", "through execute_values"])
def test_link_rows_upsert_on_the_record_and_keep_json(alice, connection, monkeypatch, copy_from):
    from sync_engine import rows as rows_module

    monkeypatch.setattr(rows_module, "COPY_UPSERT_MIN", copy_from)
    now = timezone.now()

    def row(salesforce_id, snapshot):
        return (alice.tenant.pk, connection.pk, "opportunity", 7, "Opportunity", salesforce_id, "external_id", "synced", "h" * 64,
                snapshot, now, "", "", "", now, now)

    insert_rows(SyncLink, _LINK_COLUMNS, [row("006A", {"Name": 'a "b"'})], conflict=("connection_id", "record_type", "record_id", "sobject"),
                update=_LINK_UPDATE_FIELDS)
    insert_rows(SyncLink, _LINK_COLUMNS, [row("006B", {"Name": "c", "Amount": 1.5})],
                conflict=("connection_id", "record_type", "record_id", "sobject"), update=_LINK_UPDATE_FIELDS)
    [link] = SyncLink.objects.all()
    assert (link.salesforce_id, link.base_snapshot) == ("006B", {"Name": "c", "Amount": 1.5})
    many = [(alice.tenant.pk, connection.pk, "requirement", i, "Cothon_Requirement__c", f"a0B{i:015d}", "", "failed", "",
             {"Text": text}, None, "CODE", text, text, now, now) for i, text in enumerate(AWKWARD)]
    insert_rows(SyncLink, _LINK_COLUMNS, many, conflict=("connection_id", "record_type", "record_id", "sobject"),
                update=_LINK_UPDATE_FIELDS)
    saved = list(SyncLink.objects.filter(record_type="requirement").order_by("record_id").values_list(
        "record_id", "salesforce_id", "matched_by", "base_snapshot", "last_synced_at", "last_error_message", "created_at"))
    assert saved == [(i, f"a0B{i:015d}", "", {"Text": text}, None, text, now) for i, text in enumerate(AWKWARD)]


def test_updated_rows_keep_their_text_nulls_numbers_dates_and_json(alice):
    import datetime
    from decimal import Decimal

    from opportunities.models import Opportunity
    from sync_engine.rows import update_rows

    rows = [Opportunity.objects.create(tenant=alice.tenant, title=f"Before {i}", reference=f"R-{i}") for i in range(len(AWKWARD))]
    other = Opportunity.objects.create(tenant=alice.tenant, title="Not in the update")
    now = timezone.now()
    for i, (row, text) in enumerate(zip(rows, AWKWARD)):
        row.title, row.description = f"After {i}: 100%s %(x)s", text
        row.value_min = Decimal("1234.56") if i % 2 else None
        row.closing_date = datetime.date(2031, 1, 1 + i) if i % 2 == 0 else None
        row.salesforce_extra = {"7": {"fields": {"Text__c": text}}} if i else {}
        row.updated_at = now
    update_rows(Opportunity, rows, ["title", "description", "value_min", "closing_date", "salesforce_extra", "updated_at"])
    saved = list(Opportunity.objects.filter(pk__in=[r.pk for r in rows]).order_by("id").values_list(
        "title", "reference", "description", "value_min", "closing_date", "salesforce_extra", "updated_at"))
    assert saved == [(f"After {i}: 100%s %(x)s", f"R-{i}", text, Decimal("1234.56") if i % 2 else None,
                      datetime.date(2031, 1, 1 + i) if i % 2 == 0 else None, {"7": {"fields": {"Text__c": text}}} if i else {}, now)
                     for i, text in enumerate(AWKWARD)]
    assert Opportunity.objects.get(pk=other.pk).title == "Not in the update"


def test_a_filter_on_many_ids_selects_what_an_in_list_selects(alice, connection):
    from cothon.bulk import ids_in

    now = timezone.now()
    rows = [(alice.tenant.pk, connection.pk, "opportunity", i, "Opportunity", f"006{i:015d}", "", "synced", "", {}, now, "", "", "",
             now, now) for i in range(1, 301)]
    insert_rows(SyncLink, _LINK_COLUMNS, rows)
    wanted = list(range(0, 600, 3))  # some linked, some not
    links = SyncLink.objects.filter(connection=connection)
    assert (sorted(links.filter(ids_in("record_id", wanted)).values_list("record_id", flat=True))
            == sorted(links.filter(record_id__in=wanted).values_list("record_id", flat=True)))
    assert list(links.filter(ids_in("record_id", (i for i in [7, 9])), sobject="Opportunity").order_by("record_id")
                .values_list("record_id", flat=True)) == [7, 9]
    assert not links.filter(ids_in("record_id", [])).exists()
    assert links.filter(ids_in("record_id", ["12"])).get().record_id == 12  # ids as text (a form's) are ids too
