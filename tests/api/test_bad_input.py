"""One bad request must never be a 500, and every API error is the documented JSON shape.

The sweeps read the operations from /api/schema/, so an endpoint added later is swept too:
every integer query parameter of every list (huge, negative, not a number) and every id in a
path (not a number, too long)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation

from cothon.api import errors
from tests.api.conftest import API

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"
BAD_FILTER_VALUES = [HUGE, str(2**63), "-1", "0", "abc", "1.5", "1e3"]
BAD_PATH_IDS = ["abc", "-1", "1.5", "99999999999999999999", HUGE]
# Paging parameters have their own documented answers (404 past the end, a capped page size).
PAGING = {"page", "page_size"}


@pytest.fixture
def schema(alice_api) -> dict:
    return alice_api.get("/api/schema/?format=json").json()


def _list_operations(schema: dict) -> list[tuple[str, list[str]]]:
    """(path, integer filter names) of every GET without a path parameter."""
    found = []
    for path, item in schema["paths"].items():
        get = item.get("get")
        if not get or "{" in path:
            continue
        names = [p["name"] for p in get.get("parameters", [])
                 if p["in"] == "query" and p.get("schema", {}).get("type") == "integer" and p["name"] not in PAGING]
        found.append((path, names))
    return found


def _detail_paths(schema: dict) -> list[str]:
    return [path for path, item in schema["paths"].items() if "get" in item and "{id}" in path]


def _assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    if status == 400 and body["detail"] == "Validation failed.":
        assert isinstance(body["errors"], dict) and body["errors"]
    else:
        assert isinstance(body["code"], str) and body["code"]
    return body


def test_the_sweep_covers_every_id_filter_of_issue_15(schema):
    filters = dict(_list_operations(schema))
    assert "department" in filters["/api/v1/opportunities/"] and "assignee" in filters["/api/v1/opportunities/"]
    for path in ("/api/v1/comments/", "/api/v1/proposals/", "/api/v1/quotes/", "/api/v1/analyses/"):
        assert "opportunity" in filters[path], path


def test_a_bad_id_filter_on_any_list_is_a_400_naming_it(alice, api_as, alice_records, schema):
    alice_api = api_as(alice.admin_membership)  # an admin: the admin-only lists are swept too
    swept = 0
    for path, names in _list_operations(schema):
        for name in names:
            for value in BAD_FILTER_VALUES:
                response = alice_api.get(path, {name: value})
                body = _assert_error_shape(response, 400)
                assert list(body["errors"]) == [name], (path, name, value, body)
                swept += 1
    assert swept >= 6 * len(BAD_FILTER_VALUES)


# Not a list: the Dashboard's `department` must be a department of the organization, anything else
# is a 400 (docs/dashboards.md; tests/dashboard/test_pages.py).
NOT_LISTS = {"/api/v1/dashboard/"}


def test_the_largest_id_a_database_holds_is_a_valid_filter_matching_nothing(alice, api_as, alice_records, schema):
    alice_api = api_as(alice.admin_membership)
    for path, names in _list_operations(schema):
        if path in NOT_LISTS:
            continue
        for name in names:
            response = alice_api.get(path, {name: str(2**63 - 1)})
            assert response.status_code == 200, (path, name, response.content[:200])
            assert response.json()["results"] == []


HOSTILE_VALUES = [HUGE, "-1", "abc", "\x00", "9999-12-31", "0001-01-01", "99999-01-01", "1e400", "%s" * 50, "x" * 5000]


def test_no_query_parameter_of_any_list_answers_a_server_error(alice_api, alice_records, schema):
    """Every query parameter (filters, search, ordering, paging) with hostile values: a JSON answer
    below 500, and a 400 is in the validation-error shape naming that parameter."""
    for path, item in schema["paths"].items():
        get = item.get("get")
        if not get or "{" in path:
            continue
        for parameter in (p["name"] for p in get.get("parameters", []) if p["in"] == "query"):
            for value in HOSTILE_VALUES:
                response = alice_api.get(path, {parameter: value})
                assert response.status_code < 500, (path, parameter, value)
                assert response["Content-Type"].startswith("application/json"), (path, parameter, value)
                if response.status_code == 400:
                    assert list(response.json()["errors"]) == [parameter], (path, parameter, value)


def test_a_bad_id_in_any_path_is_a_json_404(alice_api, alice_records, schema):
    paths = _detail_paths(schema)
    assert len(paths) >= 10
    for path in paths:
        for value in BAD_PATH_IDS:
            _assert_error_shape(alice_api.get(path.replace("{id}", value)), 404)


def test_an_unknown_api_url_is_a_json_404(alice_api):
    assert _assert_error_shape(alice_api.get(f"{API}/no-such-thing/"), 404)["code"] == "not_found"


def test_a_page_that_is_not_a_number_is_a_json_404(alice_api, alice_records):
    _assert_error_shape(alice_api.get(f"{API}/opportunities/", {"page": HUGE}), 404)
    _assert_error_shape(alice_api.get(f"{API}/opportunities/", {"page": "abc"}), 404)
    assert alice_api.get(f"{API}/opportunities/", {"page_size": HUGE}).status_code == 200


@pytest.mark.parametrize("path", ["opportunities/", "departments/", "proposals/", "quotes/"])
def test_a_null_character_in_a_search_is_a_400(alice_api, alice_records, path):
    body = _assert_error_shape(alice_api.get(f"{API}/{path}", {"search": "cloud\x00"}), 400)
    assert list(body["errors"]) == ["search"]


@pytest.mark.parametrize("path", ["opportunities/", "departments/", "analyses/", "proposals/", "quotes/"])
def test_a_json_body_nested_3000_deep_is_a_400(alice_api, path):
    body = "[" * 3000 + "]" * 3000
    response = alice_api.post(f"{API}/{path}", body, content_type="application/json")
    assert _assert_error_shape(response, 400)["code"] == "parse_error"
    nested = '{"title": ' * 3000 + '"x"' + "}" * 3000
    response = alice_api.post(f"{API}/{path}", nested, content_type="application/json")
    assert _assert_error_shape(response, 400)["code"] == "parse_error"


def test_a_body_over_the_upload_limit_is_a_json_413(alice_api, settings):
    body = json.dumps({"title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    response = alice_api.post(f"{API}/opportunities/", body, content_type="application/json")
    body = _assert_error_shape(response, 413)
    assert body["code"] == "request_too_large" and "2 MB" in body["detail"]


@pytest.mark.parametrize("exception, status", [(RequestDataTooBig(), 413), (SuspiciousOperation(), 400)])
def test_djangos_own_400_under_api_is_json(rf, exception, status):
    # A body read by Django outside a DRF view (middleware) reaches handler400, not DRF.
    response = errors.bad_request(rf.post(f"{API}/opportunities/"), exception)
    assert response.status_code == status and response["Content-Type"] == "application/json"
    assert set(json.loads(response.content)) == {"detail", "code"}


def test_djangos_own_500_under_api_is_json(rf):
    response = errors.server_error(rf.get(f"{API}/opportunities/"))
    assert response.status_code == 500 and json.loads(response.content)["code"] == "server_error"


def test_html_pages_keep_html_errors(web_as, alice):
    response = web_as(alice.member).get("/opportunities/abc/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("cookie", ["sessionid=abcdefgh\x00ijkl", "sessionid=" + "\x00" * 40, "sessionid=" + "a" * 5000])
def test_a_malformed_session_cookie_is_no_session(alice_api, client, cookie):
    # Found by schemathesis (the cookie-auth parameter): a NUL reached PostgreSQL, a 500 everywhere.
    assert alice_api.get(f"{API}/opportunities/", HTTP_COOKIE=cookie).status_code == 200
    response = client.get("/opportunities/", HTTP_COOKIE=cookie)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("path", [f"{API}/opportunities/abc/", f"{API}/no-such-thing/", "/api/nothing/here/"])
def test_an_unknown_api_url_is_json_with_debug_on_too(alice_api, settings, path):
    settings.DEBUG = True  # Django's technical 404 page would answer otherwise
    assert _assert_error_shape(alice_api.get(path), 404)["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_to_an_unknown_api_url_is_a_json_404_not_a_csrf_page(alice, method):
    from rest_framework.test import APIClient

    from cothon.tenancy.services import api_token_create

    _, key = api_token_create(membership=alice.member_membership)
    client = APIClient(enforce_csrf_checks=True)  # as a real server does (the test client skips CSRF)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = getattr(client, method)(f"{API}/analyses/abc/", {}, format="json")
    assert _assert_error_shape(response, 404)["code"] == "not_found"


def test_an_api_url_without_its_trailing_slash_still_redirects(alice_api):
    response = alice_api.get(f"{API}/opportunities")
    assert response.status_code == 301 and response["Location"].endswith(f"{API}/opportunities/")
