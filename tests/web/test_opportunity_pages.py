"""HTML pages of opportunities: access, tenant isolation, forms, HTMX fragments, list filters."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse

from opportunities.models import Comment, Opportunity

pytestmark = pytest.mark.django_db


def _errors_of(html: str, field: str) -> str:
    """The inner HTML of a field's error list."""
    match = re.search(rf'<ul class="field-errors" id="id_{field}-errors"[^>]*>(.*?)</ul>', html, re.S)
    assert match, f"no error list for {field}"
    return match.group(1)


# --- login required ------------------------------------------------------------------------

@pytest.mark.parametrize("name, args, method", [
    ("opportunities:list", [], "get"),
    ("opportunities:create", [], "get"),
    ("opportunities:validate", [], "post"),
    ("opportunities:detail", [1], "get"),
    ("opportunities:edit", [1], "get"),
    ("opportunities:delete", [1], "post"),
    ("opportunities:comment_create", [1], "post"),
    ("integrations:index", [], "get"),
])
def test_anonymous_users_are_sent_to_login(client, name, args, method):
    url = reverse(name, args=args)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_login_page_renders_styled_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/static/cothon/css/app.css"' in html
    assert 'name="username"' in html and 'name="password"' in html


def test_login_with_bad_password_shows_error(client, alice):
    response = client.post(reverse("login"), {"username": alice.member.username, "password": "nope-nope-1"})
    assert response.status_code == 200
    assert "alert-error" in response.content.decode()


def test_login_lands_on_opportunity_list(client, alice):
    response = client.post(reverse("login"), {"username": alice.member.username, "password": "pass-word-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunities:list")


def test_user_without_organization_sees_explanation(client, django_user_model):
    user = django_user_model.objects.create_user("loner", password="pass-word-123")
    client.force_login(user)
    response = client.get(reverse("opportunities:list"))
    assert response.status_code == 302 and response["Location"] == reverse("no_tenant")
    page = client.get(reverse("no_tenant"))
    assert "not in an organization yet" in page.content.decode()


# --- tenant isolation ----------------------------------------------------------------------

@pytest.mark.parametrize("name, method", [
    ("opportunities:detail", "get"),
    ("opportunities:edit", "get"),
    ("opportunities:edit", "post"),
    ("opportunities:validate_existing", "post"),
    ("opportunities:delete", "get"),
    ("opportunities:delete", "post"),
    ("opportunities:comment_create", "post"),
])
def test_another_tenants_opportunity_is_404(web_as, alice, bob, opportunity_factory, form_data, name, method):
    theirs = opportunity_factory(alice.tenant, title="Alice's secret bid")
    client = web_as(bob.admin)
    payload = {**form_data(title="Hijacked"), "body": "hello"} if method == "post" else None
    response = getattr(client, method)(reverse(name, args=[theirs.pk]), payload, HTTP_HX_TRIGGER_NAME="title")
    assert response.status_code == 404
    assert "couldn’t find that page" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.title == "Alice's secret bid"
    assert not Comment.objects.filter(opportunity=theirs).exists()


def test_list_shows_only_the_current_tenants_opportunities(web_as, alice, bob, opportunity_factory):
    opportunity_factory(alice.tenant, title="Alice hosting")
    opportunity_factory(bob.tenant, title="Bob bridges")
    html = web_as(alice.viewer).get(reverse("opportunities:list")).content.decode()
    assert "Alice hosting" in html
    assert "Bob bridges" not in html


def test_department_of_another_tenant_cannot_be_chosen(web_as, alice, bob, department_factory, form_data):
    foreign = department_factory(bob.tenant, name="Bob's department")
    response = web_as(alice.member).post(reverse("opportunities:create"), form_data(department=str(foreign.pk)))
    assert response.status_code == 200
    assert "Select a valid choice" in _errors_of(response.content.decode(), "department")
    assert not Opportunity.objects.exists()


# --- roles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, method, with_pk", [
    ("opportunities:create", "get", False),
    ("opportunities:create", "post", False),
    ("opportunities:validate", "post", False),
    ("opportunities:edit", "get", True),
    ("opportunities:edit", "post", True),
    ("opportunities:delete", "get", True),
    ("opportunities:delete", "post", True),
    ("opportunities:comment_create", "post", True),
])
def test_viewer_gets_403_on_writes(web_as, alice, opportunity_factory, form_data, name, method, with_pk):
    opportunity = opportunity_factory(alice.tenant, title="Read only")
    url = reverse(name, args=[opportunity.pk] if with_pk else None)
    payload = {**form_data(title="Changed", reference="NEW-1"), "body": "hi"} if method == "post" else None
    response = getattr(web_as(alice.viewer), method)(url, payload)
    assert response.status_code == 403
    assert "don’t have access" in response.content.decode()
    assert list(Opportunity.objects.values_list("title", flat=True)) == ["Read only"]
    assert not Comment.objects.exists()


def test_viewer_sees_no_edit_controls(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    client = web_as(alice.viewer)
    list_html = client.get(reverse("opportunities:list")).content.decode()
    detail_html = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert reverse("opportunities:create") not in list_html
    assert reverse("opportunities:edit", args=[opportunity.pk]) not in detail_html
    assert reverse("opportunities:delete", args=[opportunity.pk]) not in detail_html
    assert reverse("opportunities:comment_create", args=[opportunity.pk]) not in detail_html


def test_member_sees_edit_controls(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    html = web_as(alice.member).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert reverse("opportunities:edit", args=[opportunity.pk]) in html
    assert reverse("opportunities:delete", args=[opportunity.pk]) in html
    assert reverse("opportunities:comment_create", args=[opportunity.pk]) in html


def test_settings_link_only_for_admins(web_as, alice):
    url = reverse("integrations:index")
    assert url in web_as(alice.admin).get(reverse("opportunities:list")).content.decode()
    assert url not in web_as(alice.member).get(reverse("opportunities:list")).content.decode()


def test_header_has_tenant_switcher_and_logout_form(web_as, alice, bob):
    from cothon.tenancy.services import membership_set

    membership_set(tenant=bob.tenant, user=alice.member, role="viewer")
    html = web_as(alice.member).get(reverse("opportunities:list")).content.decode()
    assert f'action="{reverse("tenant_switch")}"' in html
    assert f'name="tenant" value="{alice.tenant.pk}"' in html
    assert f'name="tenant" value="{bob.tenant.pk}"' in html
    assert re.search(rf'<form method="post" action="{reverse("logout")}">', html)
    assert reverse("api-docs") in html


# --- create and edit -----------------------------------------------------------------------

def test_member_creates_an_opportunity(web_as, alice, department_factory, form_data):
    department = department_factory(alice.tenant)
    response = web_as(alice.member).post(
        reverse("opportunities:create"),
        form_data(department=str(department.pk), assignee=str(alice.member.pk), win_probability="40"),
    )
    opportunity = Opportunity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunities:detail", args=[opportunity.pk])
    assert opportunity.tenant == alice.tenant
    assert opportunity.department == department
    assert opportunity.assignee == alice.member
    assert opportunity.created_by == alice.member
    assert opportunity.value_max == 250000
    assert opportunity.closing_date == datetime.date(2030, 6, 30)


def test_assignee_must_be_a_member_of_the_tenant(web_as, alice, bob, form_data):
    response = web_as(alice.member).post(reverse("opportunities:create"), form_data(assignee=str(bob.member.pk)))
    assert "Select a valid choice" in _errors_of(response.content.decode(), "assignee")
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize("overrides, field, message", [
    ({"title": ""}, "title", "Title is required."),
    ({"title": "   "}, "title", "Title is required."),
    ({"value_min": "300000", "value_max": "100000"}, "value_max", "greater than or equal to the minimum"),
    ({"status": "bogus"}, "status", "not a known status"),
    ({"value_min": "-5"}, "value_min", "cannot be negative"),
    ({"value_max": "lots"}, "value_max", "Enter a number."),
    ({"win_probability": "150"}, "win_probability", "less than or equal to 100"),
    ({"closing_date": "2030-02-31"}, "closing_date", "Enter a valid date."),
])
def test_bad_input_shows_inline_errors_and_saves_nothing(web_as, alice, form_data, overrides, field, message):
    response = web_as(alice.member).post(reverse("opportunities:create"), form_data(**overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in _errors_of(html, field)
    assert "Nothing was saved." in html
    assert not Opportunity.objects.exists()


def test_all_problems_show_at_once(web_as, alice, form_data):
    response = web_as(alice.member).post(
        reverse("opportunities:create"), form_data(title="", value_min="9", value_max="1", status="nope"))
    html = response.content.decode()
    assert "Title is required." in _errors_of(html, "title")
    assert "minimum" in _errors_of(html, "value_max")
    assert "not a known status" in _errors_of(html, "status")


def test_duplicate_reference_is_reported_on_the_reference_field(web_as, alice, opportunity_factory, form_data):
    opportunity_factory(alice.tenant, reference="DUP-001")
    response = web_as(alice.member).post(reverse("opportunities:create"), form_data(reference="DUP-001"))
    assert response.status_code == 200
    assert "already uses this reference" in _errors_of(response.content.decode(), "reference")
    assert Opportunity.objects.count() == 1


def test_same_reference_in_another_tenant_is_fine(web_as, alice, bob, opportunity_factory, form_data):
    opportunity_factory(bob.tenant, reference="DUP-001")
    response = web_as(alice.member).post(reverse("opportunities:create"), form_data(reference="DUP-001"))
    assert response.status_code == 302
    assert Opportunity.objects.filter(tenant=alice.tenant, reference="DUP-001").exists()


def test_edit_form_is_prefilled(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Prefilled title", reference="PRE-1")
    html = web_as(alice.member).get(reverse("opportunities:edit", args=[opportunity.pk])).content.decode()
    assert 'value="Prefilled title"' in html
    assert 'value="PRE-1"' in html


def test_member_edits_an_opportunity(web_as, alice, opportunity_factory, form_data):
    opportunity = opportunity_factory(alice.tenant, reference="KEEP-1")
    response = web_as(alice.member).post(
        reverse("opportunities:edit", args=[opportunity.pk]),
        form_data(title="Renamed", reference="KEEP-1", status="pursuing"),
    )
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.status) == ("Renamed", "pursuing")
    assert opportunity.field_changed_by["title"] == opportunity.field_changed_by["status"] == alice.member.pk


def test_invalid_edit_changes_nothing(web_as, alice, opportunity_factory, form_data):
    opportunity = opportunity_factory(alice.tenant, title="Original", reference="ORIG-1")
    opportunity_factory(alice.tenant, reference="TAKEN-1")
    response = web_as(alice.member).post(
        reverse("opportunities:edit", args=[opportunity.pk]),
        form_data(title="Changed", reference="TAKEN-1", value_min="5", value_max="1"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "already uses this reference" in _errors_of(html, "reference")
    assert "minimum" in _errors_of(html, "value_max")
    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.reference) == ("Original", "ORIG-1")


# --- inline (HTMX) validation --------------------------------------------------------------

def _validate(client, data, field, pk=None):
    url = reverse("opportunities:validate_existing", args=[pk]) if pk else reverse("opportunities:validate")
    return client.post(url, data, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME=field)


def test_inline_validation_reports_the_field_error(web_as, alice, form_data):
    response = _validate(web_as(alice.member), form_data(title=""), "title")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Title is required." in _errors_of(html, "title")
    assert not Opportunity.objects.exists()


def test_inline_validation_of_a_valid_field_clears_the_error(web_as, alice, form_data):
    html = _validate(web_as(alice.member), form_data(title=""), "reference").content.decode()
    assert _errors_of(html, "reference").strip() == ""
    assert "Title is required." not in html  # only the field that was left is reported


def test_inline_validation_checks_min_and_max_together(web_as, alice, form_data):
    html = _validate(web_as(alice.member), form_data(value_min="500000", value_max="100000"), "value_min").content.decode()
    assert _errors_of(html, "value_min").strip() == ""
    # The error belongs to the maximum field, updated out of band.
    assert re.search(r'id="id_value_max-errors"[^>]*hx-swap-oob="true"', html)
    assert "minimum" in _errors_of(html, "value_max")


def test_inline_validation_finds_duplicate_references(web_as, alice, opportunity_factory, form_data):
    existing = opportunity_factory(alice.tenant, reference="DUP-9")
    client = web_as(alice.member)
    assert "already uses" in _errors_of(_validate(client, form_data(reference="DUP-9"), "reference").content.decode(), "reference")
    # Editing the record itself keeps its own reference.
    html = _validate(client, form_data(reference="DUP-9"), "reference", pk=existing.pk).content.decode()
    assert _errors_of(html, "reference").strip() == ""


def test_inline_validation_rejects_unknown_fields(web_as, alice, form_data):
    assert _validate(web_as(alice.member), form_data(), "tenant").status_code == 400


def test_form_fields_carry_htmx_validation(web_as, alice):
    html = web_as(alice.member).get(reverse("opportunities:create")).content.decode()
    title = re.search(r'<input[^>]*name="title"[^>]*>', html).group(0)
    assert f'hx-post="{reverse("opportunities:validate")}"' in title
    assert 'hx-target="#id_title-errors"' in title
    status = re.search(r'<select[^>]*name="status"[^>]*>', html).group(0)
    assert 'hx-trigger="change, blur"' in status


# --- list: HTMX fragment, search, filters, pagination --------------------------------------

def test_htmx_list_request_returns_only_the_results_fragment(web_as, alice, opportunity_factory, htmx_headers):
    opportunity_factory(alice.tenant, title="Fragment me")
    response = web_as(alice.viewer).get(reverse("opportunities:list"), {"q": "Fragment"}, **htmx_headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="opportunity-results"')
    assert "<html" not in html and "<form" not in html
    assert "Fragment me" in html
    assert "HX-Request" in response["Vary"]


def test_full_list_page_has_filters_and_results(web_as, alice):
    html = web_as(alice.viewer).get(reverse("opportunities:list")).content.decode()
    assert "<html" in html
    assert 'id="opportunity-results"' in html
    assert 'hx-push-url="true"' in html
    for name in ("q", "status", "department", "closing_after", "closing_before"):
        assert f'name="{name}"' in html


def test_history_restore_gets_the_full_page(web_as, alice):
    response = web_as(alice.viewer).get(reverse("opportunities:list"), HTTP_HX_REQUEST="true",
                                        HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def _titles(response) -> list[str]:
    return [o.title for o in response.context["opportunities"]]


def test_search_matches_title_reference_and_department(web_as, alice, opportunity_factory, department_factory):
    dnd = department_factory(alice.tenant, name="National Defence")
    opportunity_factory(alice.tenant, title="Satellite imagery", reference="W8486-1")
    opportunity_factory(alice.tenant, title="Boots", reference="ZZ-77", department=dnd)
    opportunity_factory(alice.tenant, title="Office chairs", reference="E60PQ-3")
    client = web_as(alice.viewer)
    url = reverse("opportunities:list")
    assert _titles(client.get(url, {"q": "satellite"})) == ["Satellite imagery"]
    assert _titles(client.get(url, {"q": "zz-77"})) == ["Boots"]
    assert _titles(client.get(url, {"q": "defence"})) == ["Boots"]
    assert "No opportunities match" in client.get(url, {"q": "nothing-like-this"}).content.decode()


def test_filters_by_status_department_and_closing_range(web_as, alice, opportunity_factory, department_factory):
    ssc = department_factory(alice.tenant, name="Shared Services Canada")
    today = datetime.date(2030, 1, 15)
    opportunity_factory(alice.tenant, title="A", status="won", closing_date=today)
    opportunity_factory(alice.tenant, title="B", status="pursuing", department=ssc, closing_date=today + datetime.timedelta(days=10))
    opportunity_factory(alice.tenant, title="C", status="pursuing", closing_date=today + datetime.timedelta(days=40))
    client = web_as(alice.viewer)
    url = reverse("opportunities:list")
    assert _titles(client.get(url, {"status": "won"})) == ["A"]
    assert _titles(client.get(url, {"department": ssc.pk})) == ["B"]
    assert sorted(_titles(client.get(url, {"closing_after": "2030-01-20"}))) == ["B", "C"]
    assert sorted(_titles(client.get(url, {"closing_before": "2030-01-30"}))) == ["A", "B"]
    assert _titles(client.get(url, {"status": "pursuing", "closing_before": "2030-01-30"})) == ["B"]


def test_bad_filter_values_are_ignored_not_fatal(web_as, alice, opportunity_factory):
    opportunity_factory(alice.tenant, title="Still here")
    response = web_as(alice.viewer).get(reverse("opportunities:list"),
                                        {"status": "bogus", "department": "abc", "closing_after": "not-a-date", "page": "x"})
    assert response.status_code == 200
    assert _titles(response) == ["Still here"]


def test_pagination_keeps_filters_in_links(web_as, alice, opportunity_factory):
    for i in range(30):
        opportunity_factory(alice.tenant, title=f"Won bid {i:02d}", status="won")
    opportunity_factory(alice.tenant, title="Lost bid", status="lost")
    client = web_as(alice.viewer)
    url = reverse("opportunities:list")
    first = client.get(url, {"status": "won"})
    assert len(_titles(first)) == 25
    html = first.content.decode()
    assert "Showing <strong>1–25</strong> of <strong>30</strong>" in html
    assert 'href="?status=won&amp;page=2"' in html
    second = client.get(url, {"status": "won", "page": 2}, HTTP_HX_REQUEST="true")
    assert len(_titles(second)) == 5
    assert "Lost bid" not in second.content.decode()
    all_titles = set(_titles(first)) | set(_titles(second))
    assert len(all_titles) == 30
    assert 'hx-push-url="true"' in second.content.decode()


@pytest.fixture
def sortable(alice, opportunity_factory):
    today = datetime.date.today()
    rows = [("Bravo", "won", 300_000, 20), ("Alpha", "submitted", None, None), ("Charlie", "identified", 900_000, 5),
            ("Delta", "pursuing", 50_000, 60)]
    for title, status, value, days in rows:
        opportunity_factory(alice.tenant, title=title, status=status, value_min=None, value_max=value,
                            closing_date=today + datetime.timedelta(days=days) if days is not None else None)


@pytest.mark.parametrize("sort, expected", [
    ("title", ["Alpha", "Bravo", "Charlie", "Delta"]),
    ("-title", ["Delta", "Charlie", "Bravo", "Alpha"]),
    ("status", ["Charlie", "Delta", "Alpha", "Bravo"]),  # pipeline order, not alphabetical
    ("-value", ["Charlie", "Bravo", "Delta", "Alpha"]),  # no value: last
    ("value", ["Delta", "Bravo", "Charlie", "Alpha"]),  # no value: last either way
    ("closing", ["Charlie", "Bravo", "Delta", "Alpha"]),
    ("-closing", ["Delta", "Bravo", "Charlie", "Alpha"]),
])
def test_the_list_sorts_by_a_column(web_as, alice, sortable, sort, expected):
    response = web_as(alice.viewer).get(reverse("opportunities:list"), {"sort": sort})
    assert _titles(response) == expected


def test_sort_headers_say_their_state_and_flip_on_a_second_click(web_as, alice, sortable):
    client = web_as(alice.viewer)
    html = client.get(reverse("opportunities:list"), {"sort": "title", "status": "won"}).content.decode()
    assert re.search(r'class="sortable\s*" aria-sort="ascending">\s*<a href="\?sort=-title&amp;status=won"', html) or \
        re.search(r'aria-sort="ascending">\s*<a href="\?status=won&amp;sort=-title"', html)
    assert 'aria-sort="none"' in html and 'name="sort" value="title" form="opportunity-filters"' in html
    # The default order (most recently updated first) keeps the URL clean.
    default_html = client.get(reverse("opportunities:list")).content.decode()
    assert 'name="sort" value="" form="opportunity-filters"' in default_html


def test_an_unknown_sort_falls_back_to_the_default_order(web_as, alice, sortable):
    response = web_as(alice.viewer).get(reverse("opportunities:list"), {"sort": "-password"})
    assert response.status_code == 200
    assert _titles(response) == ["Delta", "Charlie", "Alpha", "Bravo"]  # most recently updated first


def test_sorting_keeps_filters_and_paging_links_keep_the_sort(web_as, alice, opportunity_factory):
    for i in range(30):
        opportunity_factory(alice.tenant, title=f"Won bid {i:02d}", status="won")
    response = web_as(alice.viewer).get(reverse("opportunities:list"), {"status": "won", "sort": "-title"})
    assert _titles(response)[:2] == ["Won bid 29", "Won bid 28"]
    assert 'href="?status=won&amp;sort=-title&amp;page=2"' in response.content.decode()


def test_money_and_status_are_formatted(web_as, alice, opportunity_factory):
    opportunity_factory(alice.tenant, value_min=100000, value_max=250000, status="won")
    html = web_as(alice.viewer).get(reverse("opportunities:list")).content.decode()
    assert "$100,000 – $250,000" in html
    assert 'class="pill pill-green"' in html


# --- detail, comments, delete --------------------------------------------------------------

def test_detail_shows_fields_analyses_proposals_and_comments(web_as, alice, opportunity_factory, department_factory):
    from opportunities import services
    from proposals.services import proposal_create

    department = department_factory(alice.tenant, name="Public Services and Procurement Canada", acronym="PSPC")
    opportunity = opportunity_factory(alice.tenant, title="Data centre move", department=department,
                                      location="Quebec", unspsc_code="81112003", description="Move two halls.")
    analysis = services.analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="Strong fit",
                                        key_findings="Incumbent weak\nWe have the clearances")
    services.requirement_add(tenant=alice.tenant, analysis=analysis, text="Reliability clearance", kind="mandatory", code="M1")
    proposal_create(tenant=alice.tenant, opportunity=opportunity, title="Technical proposal v1")
    services.comment_create(tenant=alice.tenant, opportunity=opportunity, author=alice.member, body="Kick-off Monday")
    html = web_as(alice.viewer).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    for text in ("Data centre move", "Public Services and Procurement Canada", "PSPC", "Quebec", "81112003",
                 "Move two halls.", "Strong fit", "We have the clearances", "Reliability clearance", "M1",
                 "Technical proposal v1", "Kick-off Monday", "$100,000 – $250,000"):
        assert text in html, text


def test_dates_are_shown_in_the_tenants_time_zone(web_as, alice, opportunity_factory):
    from opportunities import services

    alice.tenant.time_zone = "America/Vancouver"
    alice.tenant.save()
    opportunity = opportunity_factory(alice.tenant)
    comment = services.comment_create(tenant=alice.tenant, opportunity=opportunity, author=alice.member, body="tz")
    Comment.objects.filter(pk=comment.pk).update(created_at=datetime.datetime(2030, 1, 1, 12, 0, tzinfo=datetime.UTC))
    html = web_as(alice.viewer).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "Jan 1, 2030, 4:00 AM PST" in html


def test_comment_via_htmx_returns_the_comments_fragment(web_as, alice, opportunity_factory, htmx_headers):
    opportunity = opportunity_factory(alice.tenant)
    response = web_as(alice.member).post(reverse("opportunities:comment_create", args=[opportunity.pk]),
                                         {"body": "Site visit booked"}, **htmx_headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="comments"')
    assert "Site visit booked" in html
    assert Comment.objects.get().author == alice.member


def test_empty_comment_shows_error_and_saves_nothing(web_as, alice, opportunity_factory, htmx_headers):
    opportunity = opportunity_factory(alice.tenant)
    client = web_as(alice.member)
    url = reverse("opportunities:comment_create", args=[opportunity.pk])
    response = client.post(url, {"body": "   "}, **htmx_headers)
    assert "Comment cannot be empty." in _errors_of(response.content.decode(), "comment_body")
    no_js = client.post(url, {"body": ""})
    assert no_js.status_code == 200 and "Comment cannot be empty." in no_js.content.decode()
    assert not Comment.objects.exists()


def test_comment_without_javascript_redirects_back(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    response = web_as(alice.member).post(reverse("opportunities:comment_create", args=[opportunity.pk]), {"body": "Hi"})
    assert response.status_code == 302
    assert response["Location"].endswith("#comments")


def test_delete_asks_for_confirmation_then_deletes(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Doomed")
    client = web_as(alice.member)
    url = reverse("opportunities:delete", args=[opportunity.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Delete this opportunity?" in confirm.content.decode()
    assert Opportunity.objects.filter(pk=opportunity.pk).exists()
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("opportunities:list")
    assert not Opportunity.objects.filter(pk=opportunity.pk).exists()


def test_admin_can_delete_too(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    assert web_as(alice.admin).post(reverse("opportunities:delete", args=[opportunity.pk])).status_code == 302
    assert not Opportunity.objects.exists()


def test_switching_organization_from_the_header(web_as, alice, bob, opportunity_factory):
    from cothon.tenancy.services import membership_set

    membership_set(tenant=bob.tenant, user=alice.member, role="viewer")
    opportunity_factory(alice.tenant, title="Alice hosting")
    opportunity_factory(bob.tenant, title="Bob bridges")
    client = web_as(alice.member)
    response = client.post(reverse("tenant_switch"), {"tenant": bob.tenant.pk, "next": "/opportunities/?status=won"}, follow=True)
    html = response.content.decode()
    assert "Switched to Bob Procurement Ltd." in html
    assert "Bob bridges" in client.get(reverse("opportunities:list")).content.decode()
    assert "Alice hosting" not in client.get(reverse("opportunities:list")).content.decode()
    # Now a viewer there: no create button.
    assert reverse("opportunities:create") not in client.get(reverse("opportunities:list")).content.decode()


def test_error_pages_are_styled(client):
    from django.template.loader import render_to_string

    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "app.css" in response.content.decode() and "Log in" in response.content.decode()
    assert "Something went wrong" in render_to_string("500.html")
