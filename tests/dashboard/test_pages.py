"""The Dashboard page, its CSV downloads and /api/v1/dashboard/ (fixture: conftest.py, today 2026-05-15)."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from opportunities import dashboard_views
from opportunities.models import Opportunity
from tests.dashboard.conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(dashboard_views, "local_today", lambda zone: TODAY)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _chart_data(html: str) -> dict:
    found = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


# --- the page -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "member", "admin"])
def test_every_role_reads_the_dashboard(role, alice, board, web_as):
    response = web_as(getattr(alice, role)).get(reverse("dashboard:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page"' in html and "Government pipeline" in html
    assert "midpoint of its minimum and maximum value" in html  # the value's definition
    assert "Bob" not in html and "BOB-" not in html


def test_page_shows_the_figures_and_passes_them_to_the_charts(alice, board, web_as):
    html = web_as(alice.viewer).get(reverse("dashboard:index")).content.decode()
    data = _chart_data(html)
    assert data["funnel"] == {"labels": ["Identified", "Analyzing", "Pursuing", "Submitted", "Won"],
                              "counts": [3, 1, 1, 2, 3], "values": [231000.5, 300000.0, 0.0, 1050000.0, 625000.0]}
    assert data["compliance"]["counts"] == [2, 3, 2, 3]
    assert data["departments"]["labels"][0] == "Shared Services Canada"
    assert data["gauge"]["value"] == 68.8 and data["gauge"]["tone"] == "yellow"
    assert data["win_rate"]["labels"][0] == "Jun 2025" and data["win_rate"]["rates"][-1] == 100.0
    assert 'data-testid="unscored">3<' in html and 'data-testid="win-rate">75.0%' in html
    assert "Apr 1 – Jun 30, 2026" in html
    table = html[html.index('data-testid="closing-table"'):]
    links = re.findall(r'href="/opportunities/(\d+)/"', table)
    assert links == [str(board[k].pk) for k in (1, 10, 6, 11, 5, 3)]
    assert '<script src="/static/cothon/vendor/chartjs/chart.umd.min.js" defer>' in html
    assert "<script>" not in html  # no inline script (CSP)


def test_page_filters_apply_to_every_panel(alice, board, web_as):
    response = web_as(alice.viewer).get(reverse("dashboard:index"), {"department": board["ssc"].pk, "category": "it"})
    data = _chart_data(response.content.decode())
    assert data["funnel"]["counts"] == [2, 1, 0, 0, 1]
    assert data["departments"]["labels"] == ["Shared Services Canada"]
    html = response.content.decode()
    assert f'department={board["ssc"].pk}' in html and "category=it" in html  # the CSV links keep the filters


def test_empty_dashboard_says_so(alice, web_as):
    html = web_as(alice.viewer).get(reverse("dashboard:index")).content.decode()
    assert "No opportunities in the pipeline" in html and "No opportunity closes this quarter" in html
    assert "Nothing won or lost in the last 12 months" in html and "<canvas" not in html


@pytest.mark.parametrize(("params", "message"), [
    ({"department": "abc"}, "Department: Enter an id: a whole number."),
    ({"department": "99999999999999999999999"}, "Department: No record has an id this large."),
    ({"closing_from": "2026-13-01"}, "Closing from: Enter a date as YYYY-MM-DD."),
    ({"closing_from": "2026-06-01", "closing_to": "2026-05-01"}, "Closing to: Must be on or after “Closing from”."),
    ({"category": "weapons"}, "Category: Choose one of the categories"),
])
def test_bad_filters_are_a_clear_message(alice, board, web_as, params, message):
    response = web_as(alice.viewer).get(reverse("dashboard:index"), params)
    assert response.status_code == 400
    html = response.content.decode()
    assert message.replace("“", "&ldquo;") in html or message in html
    assert 'id="dashboard-data"' not in html


def test_another_tenants_department_is_refused(alice, bob, board, web_as):
    response = web_as(alice.viewer).get(reverse("dashboard:index"), {"department": board["bob_department"].pk})
    assert response.status_code == 400 and "No such department in your organization." in response.content.decode()
    # …also by Bob's own filter on Alice's department.
    response = web_as(bob.viewer).get(reverse("dashboard:panel_csv", args=["funnel"]), {"department": board["ssc"].pk})
    assert response.status_code == 400 and "No such department in your organization." in response.content.decode()


def test_closing_this_quarter_uses_the_tenants_date(alice, board, monkeypatch):
    # 02:00 UTC on Apr 1 is still Mar 31 in Toronto: the first quarter.
    monkeypatch.undo()
    monkeypatch.setattr(timezone, "now", lambda: datetime.datetime(2026, 4, 1, 2, 0, tzinfo=datetime.UTC))
    import zoneinfo

    assert dashboard_views.local_today(zoneinfo.ZoneInfo(alice.tenant.time_zone)) == datetime.date(2026, 3, 31)
    assert dashboard_views.local_today(datetime.UTC) == datetime.date(2026, 4, 1)


def test_page_and_api_queries_do_not_grow_with_the_opportunities(alice, web_as, api_as, opportunity_factory,
                                                                 department_factory):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, api = web_as(alice.viewer), api_as(alice.viewer_membership)

    def queries() -> tuple[int, int]:
        counts = []
        for get, url in ((client.get, reverse("dashboard:index")), (api.get, "/api/v1/dashboard/")):
            with CaptureQueriesContext(connection) as captured:
                assert get(url).status_code == 200
            counts.append(len(captured))
        return tuple(counts)

    departments = [department_factory(alice.tenant, name=f"Department {n}") for n in range(3)]
    opportunity_factory(alice.tenant, department=departments[0], closing_date=TODAY, status="won", compliance_score=70)
    queries()  # the first requests also save the session and the token's last use
    few = queries()
    for n in range(30):
        opportunity_factory(alice.tenant, department=departments[n % 3], closing_date=TODAY - datetime.timedelta(days=n % 40),
                            status=["identified", "won", "lost", "submitted", "pursuing"][n % 5], compliance_score=n * 3)
    assert queries() == few


def test_a_logged_out_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("dashboard:index"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- CSV ----------------------------------------------------------------------------------------

def test_funnel_csv(alice, board, web_as):
    rows = _csv(web_as(alice.viewer).get(reverse("dashboard:panel_csv", args=["funnel"])))
    assert rows == [["stage", "status", "in_funnel", "opportunities", "total_value"],
                    ["Identified", "identified", "yes", "3", "231000.50"], ["Analyzing", "analyzing", "yes", "1", "300000.00"],
                    ["Pursuing", "pursuing", "yes", "1", "0.00"], ["Submitted", "submitted", "yes", "2", "1050000.00"],
                    ["Won", "won", "yes", "3", "625000.00"], ["Lost", "lost", "no", "3", "450000.00"]]


def test_each_panels_csv(alice, board, web_as):
    client = web_as(alice.viewer)
    get = lambda panel, **params: _csv(client.get(reverse("dashboard:panel_csv", args=[panel]), params))  # noqa: E731
    assert get("compliance") == [["score_range", "lowest", "highest", "opportunities"], ["0–50", "0", "50", "2"],
                                 ["51–70", "51", "70", "3"], ["71–85", "71", "85", "2"], ["86–100", "86", "100", "3"],
                                 ["Unscored", "", "", "3"]]
    assert get("departments")[1:] == [["1", str(board["ssc"].pk), "Shared Services Canada", "5", "1351000.50"],
                                      ["2", str(board["pspc"].pk), "Public Services and Procurement Canada", "4", "1170000.00"],
                                      ["3", str(board["dnd"].pk), "National Defence", "3", "85000.00"]]
    assert get("gauge") == [["average_compliance", "colour", "active_scored", "active_unscored"], ["68.8", "yellow", "6", "1"]]
    wins = get("win-rate")
    assert wins[1] == ["2025-06", "1", "0", "100.0"] and wins[2] == ["2025-07", "0", "0", ""]
    assert wins[-1] == ["2025-06-01 to 2026-05-15", "3", "1", "75.0"] and len(wins) == 14
    closing = get("closing")
    assert closing[0][:3] == ["closing_date", "reference", "title"]
    assert [r[1] for r in closing[1:]] == ["REF-01", "REF-10", "REF-06", "REF-11", "REF-05", "REF-03"]
    assert closing[1] == ["2026-04-01", "REF-01", "Opportunity 1", "Shared Services Canada", "Identified",
                          "Information Technology", "150000.00", "50", f"http://testserver/opportunities/{board[1].pk}/"]
    assert closing[4][6:8] == ["5000.00", ""]
    # With filters: the same as the page.
    assert [r[1] for r in get("closing", closing_from="2026-04-15", closing_to="2026-05-31")[1:]] == [
        "REF-10", "REF-06", "REF-11", "REF-05"]


def test_csv_cells_cannot_run_as_formulas(alice, board, web_as):
    Opportunity.objects.filter(pk=board[1].pk).update(title="=HYPERLINK(\"http://evil\")", reference="+REF")
    board["ssc"].name = "@SUM(A1)"
    board["ssc"].save(update_fields=["name"])
    client = web_as(alice.viewer)
    closing = _csv(client.get(reverse("dashboard:panel_csv", args=["closing"])))
    assert closing[1][1:4] == ["'+REF", "'=HYPERLINK(\"http://evil\")", "'@SUM(A1)"]
    assert _csv(client.get(reverse("dashboard:panel_csv", args=["departments"])))[1][2] == "'@SUM(A1)"


def test_a_bad_panel_name_is_404_and_bad_filters_400(alice, web_as):
    client = web_as(alice.viewer)
    assert client.get("/dashboard/nothing.csv").status_code == 404
    response = client.get(reverse("dashboard:panel_csv", args=["funnel"]), {"closing_to": "yesterday"})
    assert response.status_code == 400 and "Closing to: Enter a date as YYYY-MM-DD." in response.content.decode()


# --- API ----------------------------------------------------------------------------------------

def test_api_returns_every_figure_to_a_viewer_token(alice, board, api_as):
    response = api_as(alice.viewer_membership).get("/api/v1/dashboard/")
    assert response.status_code == 200
    body = response.json()
    assert body["today"] == "2026-05-15"
    assert [(s["status"], s["count"], s["total_value"]) for s in body["funnel"]["stages"]] == [
        ("identified", 3, "231000.50"), ("analyzing", 1, "300000.00"), ("pursuing", 1, "0.00"),
        ("submitted", 2, "1050000.00"), ("won", 3, "625000.00")]
    assert body["funnel"]["lost"] == {"count": 3, "total_value": "450000.00"}
    assert [b["count"] for b in body["compliance"]["buckets"]] == [2, 3, 2, 3] and body["compliance"]["unscored"] == 3
    assert body["average_compliance"] == {"value": 68.8, "tone": "yellow", "active_scored": 6, "active_unscored": 1}
    assert [d["total_value"] for d in body["top_departments"]] == ["1351000.50", "1170000.00", "85000.00"]
    closing = body["closing_this_quarter"]
    assert (closing["start"], closing["end"], closing["count"]) == ("2026-04-01", "2026-06-30", 6)
    assert [o["reference"] for o in closing["opportunities"]] == ["REF-01", "REF-10", "REF-06", "REF-11", "REF-05", "REF-03"]
    assert (body["win_rate"]["won"], body["win_rate"]["lost"], body["win_rate"]["rate"]) == (3, 1, 75.0)
    assert len(body["win_rate"]["months"]) == 12


def test_api_filters_and_their_errors(alice, board, api_as):
    api = api_as(alice.viewer_membership)
    body = api.get("/api/v1/dashboard/", {"closing_from": "2026-04-15", "closing_to": "2026-05-31"}).json()
    assert body["win_rate"]["rate"] == 50.0 and body["filters"]["closing_from"] == "2026-04-15"
    response = api.get("/api/v1/dashboard/", {"department": board["bob_department"].pk, "closing_from": "2026-06-01",
                                              "closing_to": "2026-05-01", "category": "x"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["department"] == ["No such department in your organization."]
    assert errors["closing_to"] == ["Must be on or after “Closing from”."]
    assert "category" in errors
    # The largest id a database holds, an unused one: the same answer as another organization's.
    for value in (str(2**63 - 1), "987654321"):
        response = api.get("/api/v1/dashboard/", {"department": value})
        assert response.status_code == 400 and response.json()["errors"] == {
            "department": ["No such department in your organization."]}


def test_api_needs_a_token(db):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/dashboard/").status_code in (401, 403)


def test_api_is_in_the_schema(db):
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/dashboard/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"department", "closing_from", "closing_to", "category"}
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok.get("type") == "object" and "win_rate" in ok["properties"]
