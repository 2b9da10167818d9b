"""Settings › Integrations › Salesforce › Conflicts, the navigation's count and the record
panel's open conflicts (issue 17, "Flag for review")."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from cothon.templatetags.cothon_ui import display_name
from integrations.models import ConnectionStatus, SalesforceConnection, SalesforceUserLink
from integrations.sync_settings import settings_ensure_initial
from opportunities.models import Opportunity
from sync_engine.models import ChangeRecord, SyncConflict, SyncLink

pytestmark = pytest.mark.django_db

SF_AUTHOR = "005000000000001AAA"


def _conflict(world, opportunity_factory, *, field="Description", cothon_field="description", cothon="Ours",
              salesforce="Theirs", base="Agreed", title=None) -> SyncConflict:
    connection = SalesforceConnection.objects.filter(tenant=world.tenant).first() or SalesforceConnection.objects.create(
        tenant=world.tenant, name="Prod", login_url="https://login.salesforce.com", status=ConnectionStatus.PENDING,
        is_default=True)
    settings_ensure_initial(connection=connection)
    extra = {"title": title} if title else {}
    opportunity = opportunity_factory(world.tenant, description=cothon if cothon_field == "description" else "", **extra)
    link, _ = SyncLink.objects.get_or_create(
        tenant=world.tenant, connection=connection, record_type="opportunity", record_id=opportunity.pk,
        defaults={"sobject": "Opportunity", "salesforce_id": f"006{opportunity.pk:015d}", "status": "synced",
                  "base_snapshot": {field: base}})
    return SyncConflict.objects.create(tenant=world.tenant, connection=connection, link=link, record_type="opportunity",
                                       record_id=opportunity.pk, record_label=opportunity.title, sf_field=field,
                                       cothon_field=cothon_field, rule="last_write_wins", base_value=base,
                                       cothon_value=cothon, salesforce_value=salesforce, salesforce_changed_by=SF_AUTHOR)


def _page(c: SyncConflict) -> str:
    return reverse("integrations:conflicts", args=[c.connection_id])


def _resolve(c: SyncConflict) -> str:
    return reverse("integrations:conflicts_resolve", args=[c.connection_id])


def test_the_queue_shows_each_fields_three_values_authors_and_a_link_to_the_record(alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    SalesforceUserLink.objects.create(connection=conflict.connection, user=alice.member, salesforce_user_id=SF_AUTHOR[:15])
    html = web_as(alice.admin).get(_page(conflict)).content.decode()
    row = html[html.index(f'data-conflict-id="{conflict.pk}"'):]
    for text in ("Description", "Agreed", "Ours", "Theirs", "by: not recorded", "Open",
                 reverse("opportunities:detail", args=[conflict.record_id])):
        assert text in row, text
    assert f"by: {display_name(alice.member)}" in row  # the mapped Salesforce author, by name
    assert SF_AUTHOR not in row


def test_the_queue_and_csv_name_who_changed_cothons_side(alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    SyncConflict.objects.filter(pk=conflict.pk).update(cothon_changed_by=alice.member)
    html = web_as(alice.admin).get(_page(conflict)).content.decode()
    row = html[html.index(f'data-conflict-id="{conflict.pk}"'):]
    assert f"by: {display_name(alice.member)}" in row.split("</td>")[3]  # the Cothon column
    response = web_as(alice.admin).get(reverse("integrations:conflicts_csv", args=[conflict.connection_id]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0]["cothon_changed_by"] == alice.member.get_username()


def test_a_deleted_cothon_author_reads_not_recorded(alice, web_as, opportunity_factory, django_user_model):
    conflict = _conflict(alice, opportunity_factory)
    gone = django_user_model.objects.create_user(username="left-the-company", password="x")
    SyncConflict.objects.filter(pk=conflict.pk).update(cothon_changed_by=gone)
    gone.delete()
    html = web_as(alice.admin).get(_page(conflict)).content.decode()
    assert "by: not recorded" in html and "left-the-company" not in html


def test_an_account_name_conflict_links_to_its_department_and_resolves(alice, web_as, opportunity_factory, department_factory):
    other = _conflict(alice, opportunity_factory)
    department = department_factory(alice.tenant, "Health Canada (Cothon)")
    link = SyncLink.objects.create(tenant=alice.tenant, connection=other.connection, record_type="department",
                                   record_id=department.pk, sobject="Account", salesforce_id="001000000000001AAA",
                                   status="synced", base_snapshot={"Name": "Health Canada"})
    conflict = SyncConflict.objects.create(
        tenant=alice.tenant, connection=other.connection, link=link, record_type="department", record_id=department.pk,
        record_label=department.name, sf_field="Name", cothon_field="name", rule="last_write_wins", base_value="Health Canada",
        cothon_value="Health Canada (Cothon)", salesforce_value="Health Canada (SF)", salesforce_changed_by=SF_AUTHOR)
    web = web_as(alice.admin)
    html = web.get(_page(conflict)).content.decode()
    row = html[html.index(f'data-conflict-id="{conflict.pk}"'):]
    assert reverse("departments:edit", args=[department.pk]) in row and "Account name" in row
    response = web.post(_resolve(conflict), {"conflict_ids": [conflict.pk], "choice": "keep_salesforce"})
    assert response.status_code == 302
    department.refresh_from_db()
    assert department.name == "Health Canada (SF)" and SyncConflict.objects.get(pk=conflict.pk).status == "resolved"
    assert ChangeRecord.objects.filter(record_type="department", record_id=department.pk, origin="cothon").exists()


def test_an_unmapped_salesforce_author_is_shown_by_id(alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    assert SF_AUTHOR in web_as(alice.admin).get(_page(conflict)).content.decode()


def test_filters_narrow_the_queue_and_bad_filters_say_so(alice, web_as, opportunity_factory):
    first = _conflict(alice, opportunity_factory, title="Bridge repair")
    second = _conflict(alice, opportunity_factory, field="StageName", cothon_field="stage", cothon="Bid", salesforce="Lost",
                       title="Road salt")
    web = web_as(alice.admin)
    by_field = web.get(_page(first) + "?field=stagename").content.decode()
    assert f'data-conflict-id="{second.pk}"' in by_field and f'data-conflict-id="{first.pk}"' not in by_field
    by_record = web.get(_page(first) + "?q=bridge").content.decode()
    assert f'data-conflict-id="{first.pk}"' in by_record and f'data-conflict-id="{second.pk}"' not in by_record
    assert 'data-conflict-id' not in web.get(_page(first) + "?status=resolved").content.decode()
    bad = web.get(_page(first) + "?field=Stage%3DName&status=closed")
    assert bad.status_code == 200
    assert "Select a valid choice" in bad.content.decode() and "letters, digits and underscores" in bad.content.decode()


def test_the_queue_is_paginated(alice, web_as, opportunity_factory):
    rows = [_conflict(alice, opportunity_factory) for _ in range(27)]
    web = web_as(alice.admin)
    first = web.get(_page(rows[0])).content.decode()
    assert first.count("data-conflict-id=") == 25 and "Page 1 of 2" in first
    assert web.get(_page(rows[0]) + "?page=2").content.decode().count("data-conflict-id=") == 2


def test_resolving_one_keeps_salesforces_value_and_queues_it_out(alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    response = web_as(alice.admin).post(_resolve(conflict), {"conflict_ids": [conflict.pk], "choice": "keep_salesforce"})
    assert response.status_code == 302 and response["Location"] == _page(conflict)
    conflict.refresh_from_db()
    assert (conflict.status, conflict.resolution, conflict.resolved_by_id) == ("resolved", "keep_salesforce", alice.admin.pk)
    assert Opportunity.objects.get(pk=conflict.record_id).description == "Theirs"
    assert ChangeRecord.objects.filter(record_id=conflict.record_id, origin="cothon", fields__contains=["description"]).exists()


def test_resolving_many_keeps_cothons_values(alice, web_as, opportunity_factory):
    rows = [_conflict(alice, opportunity_factory, cothon=f"Ours {i}") for i in range(3)]
    response = web_as(alice.admin).post(_resolve(rows[0]), {"conflict_ids": [r.pk for r in rows[:2]], "choice": "keep_cothon"})
    assert response.status_code == 302
    assert list(SyncConflict.objects.order_by("pk").values_list("status", flat=True)) == ["resolved", "resolved", "open"]
    assert [Opportunity.objects.get(pk=r.record_id).description for r in rows[:2]] == ["Ours 0", "Ours 1"]


def test_an_entered_value_is_kept(alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    web_as(alice.admin).post(_resolve(conflict), {"conflict_ids": [conflict.pk], "choice": "value", "value": "Both agree"})
    assert Opportunity.objects.get(pk=conflict.record_id).description == "Both agree"


@pytest.mark.parametrize("data, message", [
    ({"choice": "coin_toss"}, "Choose one of"),
    ({"choice": "value", "value": ""}, "Enter the value to keep."),
    ({"choice": "keep_cothon", "conflict_ids": []}, "Select at least one conflict."),
])
def test_bad_input_is_a_400_with_the_reason_and_resolves_nothing(alice, web_as, opportunity_factory, data, message):
    conflict = _conflict(alice, opportunity_factory)
    response = web_as(alice.admin).post(_resolve(conflict), {"conflict_ids": [conflict.pk], **data})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was resolved." in html and message in html
    assert SyncConflict.objects.get().status == "open"
    assert Opportunity.objects.get(pk=conflict.record_id).description == "Ours"


def test_an_entered_value_salesforce_cannot_take_is_refused_next_to_its_field(alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory, field="CloseDate", cothon_field="closing_date", cothon="2026-05-01",
                         salesforce="2026-06-01", base="2026-04-01")
    before = Opportunity.objects.get(pk=conflict.record_id).closing_date
    response = web_as(alice.admin).post(_resolve(conflict), {"conflict_ids": [conflict.pk], "choice": "value", "value": "next tuesday"})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="value-{conflict.pk}-error"' in html and 'aria-invalid="true"' in html and "next tuesday" in html
    assert SyncConflict.objects.get().status == "open"
    assert Opportunity.objects.get(pk=conflict.record_id).closing_date == before


def test_unknown_or_another_tenants_ids_are_a_404_and_resolve_nothing(alice, bob, web_as, opportunity_factory):
    ours = _conflict(alice, opportunity_factory)
    theirs = _conflict(bob, opportunity_factory)
    web = web_as(alice.admin)
    for ids in ([theirs.pk], [ours.pk, theirs.pk], [ours.pk + theirs.pk + 1000], ["x"]):
        status = web.post(_resolve(ours), {"conflict_ids": ids, "choice": "keep_cothon"}).status_code
        assert status in ((404,) if ids != ["x"] else (400,)), (ids, status)
    # Bob's connection through Alice's session: 404 too.
    assert web.post(_resolve(theirs), {"conflict_ids": [theirs.pk], "choice": "keep_cothon"}).status_code == 404
    assert web.get(_page(theirs)).status_code == 404
    assert SyncConflict.objects.filter(status="open").count() == 2


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_below_admin_the_page_export_and_resolve_are_refused(role, alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    web = web_as(getattr(alice, role))
    assert web.get(_page(conflict)).status_code == 403
    assert web.get(reverse("integrations:conflicts_csv", args=[conflict.connection_id])).status_code == 403
    assert web.post(_resolve(conflict), {"conflict_ids": [conflict.pk], "choice": "keep_cothon"}).status_code == 403
    assert SyncConflict.objects.get().status == "open"


def test_csv_export_holds_the_filtered_queue_with_formulas_defused(alice, web_as, opportunity_factory):
    risky = _conflict(alice, opportunity_factory, cothon="=HYPERLINK(\"http://x\")", salesforce="+1+1", title="@SUM(A1)")
    _conflict(alice, opportunity_factory, field="StageName", cothon_field="stage", cothon="Bid", salesforce="Lost")
    response = web_as(alice.admin).get(reverse("integrations:conflicts_csv", args=[risky.connection_id]) + "?field=Description")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert (row["id"], row["salesforce_field"], row["base_value"], row["status"]) == (str(risky.pk), "Description", "Agreed", "open")
    assert row["cothon_value"] == "'=HYPERLINK(\"http://x\")" and row["salesforce_value"] == "'+1+1" and row["record"] == "'@SUM(A1)"
    assert row["salesforce_changed_by"] == SF_AUTHOR


def test_the_navigation_counts_the_tenants_open_conflicts_for_admins(alice, bob, web_as, opportunity_factory):
    rows = [_conflict(alice, opportunity_factory) for _ in range(3)]
    _conflict(bob, opportunity_factory)
    web = web_as(alice.admin)
    web.post(_resolve(rows[0]), {"conflict_ids": [rows[0].pk], "choice": "keep_cothon"})
    html = web.get(reverse("opportunities:list")).content.decode()
    assert 'title="2 conflicts held for review">2</span>' in html
    member_html = web_as(alice.member).get(reverse("opportunities:list")).content.decode()
    assert "conflicts held for review" not in member_html


def test_the_navigation_count_costs_one_query(alice, web_as, opportunity_factory, django_assert_num_queries):
    from django.test import RequestFactory

    from sync_engine.context_processors import open_conflicts

    _conflict(alice, opportunity_factory)
    request = RequestFactory().get("/")
    request.tenant, request.membership = alice.tenant, alice.admin_membership
    count = open_conflicts(request)["open_conflicts"]
    with django_assert_num_queries(1):
        assert str(count) == "1" and bool(count) and int(count) == 1


def test_the_record_page_lists_its_open_conflicts_and_admins_resolve_there(alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    detail = reverse("opportunities:detail", args=[conflict.record_id])
    viewer_html = web_as(alice.viewer).get(detail).content.decode()
    assert 'data-testid="record-conflicts"' in viewer_html and "Theirs" in viewer_html
    assert _resolve(conflict) not in viewer_html
    web = web_as(alice.admin)
    assert _resolve(conflict) in web.get(detail).content.decode()
    response = web.post(_resolve(conflict), {"conflict_ids": [conflict.pk], "choice": "keep_salesforce", "next": detail})
    assert response["Location"] == detail
    assert 'data-testid="record-conflicts"' not in web.get(detail).content.decode()


def test_next_outside_the_site_is_ignored(alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    response = web_as(alice.admin).post(_resolve(conflict), {"conflict_ids": [conflict.pk], "choice": "keep_cothon",
                                                             "next": "https://evil.example/"})
    assert response["Location"] == _page(conflict)


def test_a_conflict_of_another_connection_is_a_404_through_this_connections_page(alice, web_as, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    other = SalesforceConnection.objects.create(tenant=alice.tenant, name="Sandbox", login_url="https://test.salesforce.com",
                                                status=ConnectionStatus.PENDING)
    url = reverse("integrations:conflicts_resolve", args=[other.pk])
    assert web_as(alice.admin).post(url, {"conflict_ids": [conflict.pk], "choice": "keep_cothon"}).status_code == 404
    assert 'data-conflict-id' not in web_as(alice.admin).get(reverse("integrations:conflicts", args=[other.pk])).content.decode()
    assert SyncConflict.objects.get().status == "open"
