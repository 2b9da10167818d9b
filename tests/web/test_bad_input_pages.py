"""HTML pages given hostile input from one request: never a 500. A bad filter is ignored (with
the field's message where the page shows one), a bad form value is an inline error."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from opportunities.models import Opportunity

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"


def _sync_log(tenant, **fields):
    from integrations.models import SalesforceConnection
    from sync_engine.models import SyncLog

    connection = SalesforceConnection.objects.create(
        tenant=tenant, name="Production org", login_url="https://login.salesforce.com",
        instance_url="https://alice.my.salesforce.com", status="connected", is_default=True)
    return SyncLog.objects.create(tenant=tenant, connection=connection, record_type="opportunity", record_id=1,
                                  record_label="Logged record", sobject="Opportunity", operation="upsert",
                                  result="success", **fields)


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


# --- sync logs: date filters at the ends of the calendar ----------------------------------------

@pytest.mark.parametrize("query", [
    {"date_to": "9999-12-31"},
    {"date_from": "9999-12-31", "date_to": "9999-12-31"},
    {"date_from": "0001-01-01"},
    {"date_from": "0001-01-01", "date_to": "0001-01-01"},
])
@pytest.mark.parametrize("zone", ["America/Toronto", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_sync_log_dates_at_the_ends_of_the_calendar_filter_without_a_500(web_as, alice, query, zone):
    alice.tenant.time_zone = zone
    alice.tenant.save(update_fields=["time_zone"])
    _sync_log(alice.tenant)
    client = web_as(alice.viewer)

    page = client.get(reverse("sync:logs"), query)
    assert page.status_code == 200
    export = client.get(reverse("sync:logs_csv"), query)
    assert export.status_code == 200
    # Only a range that includes today has the row.
    includes_today = query.get("date_to", "9999-12-31") == "9999-12-31" and query.get("date_from", "0001-01-01") != "9999-12-31"
    assert ("Logged record" in page.content.decode()) is includes_today
    assert len(_csv_rows(export)) == (2 if includes_today else 1)


def test_sync_logs_until_the_last_day_keep_todays_rows(web_as, alice):
    _sync_log(alice.tenant)
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(alice.tenant.time_zone)).isoformat()
    rows = _csv_rows(web_as(alice.viewer).get(reverse("sync:logs_csv"), {"date_from": today, "date_to": "9999-12-31"}))
    assert [row[5] for row in rows[1:]] == ["Logged record"]
    assert datetime.date.max.isoformat() == "9999-12-31"


# --- opportunity list and form: ids that no database can compare --------------------------------

@pytest.mark.parametrize("value", [HUGE, str(2**63), "-1", "abc"])
def test_a_bad_department_filter_is_ignored_on_the_list(web_as, alice, opportunity_factory, value):
    opportunity_factory(alice.tenant, title="Still listed")
    response = web_as(alice.viewer).get(reverse("opportunities:list"), {"department": value})
    assert response.status_code == 200
    assert "Still listed" in response.content.decode()


@pytest.mark.parametrize("field", ["department", "assignee"])
def test_a_huge_id_in_the_opportunity_form_is_a_field_error(web_as, alice, form_data, field):
    before = Opportunity.objects.count()
    response = web_as(alice.member).post(reverse("opportunities:create"), form_data(**{field: HUGE}))
    assert response.status_code == 200 or response.status_code == 400
    assert 'id="id_%s-errors"' % field in response.content.decode()
    assert "Select a valid choice" in response.content.decode()
    assert Opportunity.objects.count() == before


def test_a_huge_value_in_the_opportunity_form_is_an_inline_error(web_as, alice, form_data):
    response = web_as(alice.member).post(reverse("opportunities:create"),
                                         form_data(value_min="99999999999999.99", value_max="99999999999999.99"))
    html = response.content.decode()
    assert response.status_code in (200, 400)
    assert "less than or equal to 9999999999999.99" in html
    assert not Opportunity.objects.filter(tenant=alice.tenant).exists()


def test_a_weight_over_10000_is_an_inline_error(web_as, alice, opportunity_factory):
    from opportunities.services import analysis_create

    analysis = analysis_create(tenant=alice.tenant, opportunity=opportunity_factory(alice.tenant))
    response = web_as(alice.member).post(reverse("opportunities:requirement_add", args=[analysis.pk]), {
        f"req-{analysis.pk}-text": "Rated: approach", f"req-{analysis.pk}-kind": "rated",
        f"req-{analysis.pk}-capability_match": "unknown", f"req-{analysis.pk}-weight": "40000"})
    assert response.status_code == 400
    assert "less than or equal to 10000" in response.content.decode()
    assert not analysis.requirements.exists()


@pytest.mark.parametrize("path", ["/opportunities/%s/" % HUGE, "/opportunities/%s/edit/" % HUGE,
                                  "/proposals/%s/edit/" % HUGE, "/departments/%s/edit/" % HUGE])
def test_a_huge_id_in_a_page_url_is_a_404(web_as, alice, path):
    assert web_as(alice.member).get(path).status_code == 404


def test_a_null_character_in_the_department_search_is_ignored(web_as, alice, department_factory):
    department_factory(alice.tenant, "Health Canada")
    response = web_as(alice.viewer).get(reverse("departments:list"), {"q": "Health\x00"})
    assert response.status_code == 200


def test_a_null_character_in_the_dry_run_search_is_ignored(web_as, alice, opportunity_factory):
    from integrations import connections as svc

    connection = svc.connection_create(tenant=alice.tenant, name="Production", client_id="APPKEY123",
                                       client_secret="s3cret-app", actor=alice.admin)
    opportunity_factory(alice.tenant, title="Cloud hosting", reference="EN578-1")
    response = web_as(alice.admin).get(reverse("integrations:dry_run", args=[connection.pk]), {"q": "EN578\x00"})
    assert response.status_code == 200


HOSTILE_VALUES = [HUGE, "-1", "abc", "\x00", "9999-12-31", "0001-01-01", "99999-01-01", "1e400", "%s" * 50, "x" * 5000]
PAGE_PARAMETERS = {
    "opportunities:list": ["q", "status", "department", "closing_after", "closing_before", "sort", "page"],
    "departments:list": ["q", "page"],
    "sync:logs": ["date_from", "date_to", "result", "record_type", "record", "error_code", "connection", "before", "after"],
    "sync:logs_csv": ["date_from", "date_to", "result", "record_type", "record", "error_code", "connection"],
}


@pytest.mark.parametrize("name", sorted(PAGE_PARAMETERS))
def test_no_query_parameter_of_a_list_page_answers_a_server_error(web_as, alice, opportunity_factory, name):
    opportunity_factory(alice.tenant)
    _sync_log(alice.tenant)
    client = web_as(alice.viewer)
    for parameter in PAGE_PARAMETERS[name]:
        for value in HOSTILE_VALUES:
            response = client.get(reverse(name), {parameter: value})
            assert response.status_code in (200, 302), (name, parameter, value, response.status_code)
