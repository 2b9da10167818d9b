"""Who may call the API: tokens (one membership each), sessions, roles, and `api_token`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from cothon.tenancy.services import membership_set
from opportunities.models import Opportunity
from tests.api.conftest import API


def test_no_token_is_401_with_the_token_challenge(alice):
    response = APIClient().get(f"{API}/opportunities/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Token not-a-real-key", "Token", "Token two parts"])
def test_a_bad_token_is_401(alice, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(f"{API}/opportunities/")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_token_of_an_inactive_user_is_401(alice, api_as):
    client = api_as(alice.member_membership)
    alice.member.is_active = False
    alice.member.save()
    assert client.get(f"{API}/opportunities/").status_code == 401


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "opportunities/", {"title": "T", "reference": "V-1"}),
        ("patch", "opportunities/{opportunity}/", {"title": "Changed"}),
        ("put", "opportunities/{opportunity}/", {"title": "Changed", "reference": "V-2"}),
        ("delete", "opportunities/{opportunity}/", None),
        ("post", "opportunities/{opportunity}/comments/", {"body": "Hi"}),
        ("post", "analyses/", {"opportunity": "{opportunity}"}),
        ("post", "analyses/{analysis}/complete/", {}),
        ("post", "analyses/{analysis}/requirements/", {"text": "x", "kind": "rated"}),
        ("post", "proposals/", {"opportunity": "{opportunity}", "title": "P"}),
        ("post", "proposals/{proposal}/generate/", None),
        ("post", "quotes/", {"title": "Q"}),
        ("post", "quotes/{quote}/line-items/", {"description": "x"}),
        ("post", "departments/", {"name": "New"}),
        ("patch", "departments/{department}/", {"name": "New"}),
    ],
)
def test_a_viewer_cannot_write_and_is_told_why(method, path, body, alice, alice_records, api_as):
    ids = {"opportunity": alice_records.opportunity.pk, "analysis": alice_records.analysis.pk,
           "proposal": alice_records.proposal.pk, "quote": alice_records.quote.pk,
           "department": alice_records.department.pk}
    if body:
        body = {k: ids[v.strip("{}")] if isinstance(v, str) and v.startswith("{") else v for k, v in body.items()}
    before = list(Opportunity.objects.values_list("pk", "title", "updated_at"))
    client = api_as(alice.viewer_membership)

    response = getattr(client, method)(f"{API}/" + path.format(**ids), body, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Your role (viewer) cannot change this; it needs member.", "code": "permission_denied"}
    assert list(Opportunity.objects.values_list("pk", "title", "updated_at")) == before


def test_a_viewer_reads(alice, alice_records, api_as):
    client = api_as(alice.viewer_membership)
    assert client.get(f"{API}/opportunities/").json()["count"] == 1
    assert client.get(f"{API}/opportunities/{alice_records.opportunity.pk}/").status_code == 200


@pytest.mark.parametrize("role", ["member", "admin"])
def test_members_and_admins_write(role, alice, api_as):
    client = api_as(getattr(alice, f"{role}_membership"))
    response = client.post(f"{API}/opportunities/", {"title": "T", "reference": f"W-{role}"}, format="json")
    assert response.status_code == 201


def test_the_session_of_a_logged_in_member_works_for_the_ui(alice, web_as):
    client = web_as(alice.member)
    response = client.post(f"{API}/opportunities/", {"title": "From the UI", "reference": "UI-1"}, content_type="application/json")
    assert response.status_code == 201
    assert client.get(f"{API}/opportunities/").json()["count"] == 1


def test_a_logged_in_user_without_membership_is_refused(db, web_as):
    from cothon.tenancy.services import user_get_or_create

    loner = user_get_or_create(username="loner", email="l@example.com", password="pass-word-123")
    response = web_as(loner).get(f"{API}/opportunities/")
    assert response.status_code == 403
    assert response.json()["detail"] == "You are not a member of any organization."


def test_the_token_decides_the_tenant_not_the_session(alice, bob, bob_records, web_as, api_as):
    # alice's member also belongs to bob's tenant; the session says alice, the token says bob.
    bob_membership = membership_set(tenant=bob.tenant, user=alice.member, role="viewer")
    client = api_as(bob_membership)
    client.force_login(alice.member)
    rows = client.get(f"{API}/opportunities/").json()["results"]
    assert [row["id"] for row in rows] == [bob_records.opportunity.pk]


# --- python manage.py api_token ------------------------------------------------------------

def _api_token(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_api_token_prints_a_working_key_for_a_one_tenant_user(alice, alice_records):
    key, note = _api_token("alice-member")
    assert "alice" in note and "member" in note
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    rows = client.get(f"{API}/opportunities/").json()["results"]
    assert [row["id"] for row in rows] == [alice_records.opportunity.pk]


def test_api_token_asks_a_user_of_several_tenants_to_choose(alice, bob):
    membership_set(tenant=bob.tenant, user=alice.member, role="member")
    with pytest.raises(CommandError, match=r"several organizations \(alice, bob\).*--tenant"):
        _api_token("alice-member")


def test_api_token_with_tenant_acts_in_that_tenant(alice, bob, alice_records, bob_records):
    membership_set(tenant=bob.tenant, user=alice.member, role="viewer")
    key, _ = _api_token("alice-member", "--tenant", "bob")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    rows = client.get(f"{API}/opportunities/").json()["results"]
    assert [row["id"] for row in rows] == [bob_records.opportunity.pk]
    # …with the role of that membership.
    assert client.post(f"{API}/departments/", {"name": "X"}, format="json").status_code == 403


@pytest.mark.parametrize(
    "args, message",
    [
        (["nobody"], "No user named 'nobody'"),
        (["alice-member", "--tenant", "nowhere"], "No organization with slug 'nowhere'"),
        (["alice-member", "--tenant", "bob"], "not a member of an organization with slug 'bob'. Their organizations: alice"),
    ],
)
def test_api_token_explains_unknown_users_and_tenants(alice, bob, args, message):
    with pytest.raises(CommandError, match=message):
        _api_token(*args)


def test_api_token_refuses_a_user_without_organization(db):
    from cothon.tenancy.services import user_get_or_create

    user_get_or_create(username="loner", email="l@example.com", password="pass-word-123")
    with pytest.raises(CommandError, match="belongs to no organization"):
        _api_token("loner")
