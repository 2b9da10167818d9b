"""Clear account cache (Settings › Integrations › the connection › Troubleshooting, and
POST /api/v1/connections/{id}/clear-account-cache/): the connection's cached department name →
Account id lookups go, the event log names who cleared them, and the next push looks Accounts
up in Salesforce again instead of trusting a stale name. Admins only; another tenant's
connection is a 404; GET is not allowed."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import ConnectionEvent
from opportunities import services as opp
from sync_engine.account_cache import account_cache_clear, account_cache_summary
from sync_engine.executor import push_connection
from sync_engine.models import AccountCacheEntry, SyncLink


def _cache(connection) -> dict[str, str]:
    return dict(AccountCacheEntry.objects.filter(connection=connection).values_list("name_key", "salesforce_id"))


def _account_name(emulator, account_id: str) -> str:
    return emulator.sf().Account.get(account_id)["Name"]


def test_after_a_clear_the_next_push_looks_the_account_up_again_instead_of_trusting_a_stale_name(
        alice, connected, emulator_reset, department_factory, opportunity_factory):
    health = department_factory(alice.tenant, "Health Canada")
    opportunity_factory(alice.tenant, department=health, title="Lab supplies")
    assert push_connection(connection_id=connected.pk).failed == 0
    first = SyncLink.objects.get(record_type="department", record_id=health.pk).salesforce_id
    assert _cache(connected) == {"health canada": first}

    # The department is renamed: its Account follows, and "health canada" still names it in the
    # cache for up to an hour.
    opp.department_update(tenant=alice.tenant, department=health, data={"name": "Health Canada Branch"})
    assert push_connection(connection_id=connected.pk).failed == 0
    assert _account_name(emulator_reset, first) == "Health Canada Branch"
    assert _cache(connected)["health canada"] == first  # stale

    assert account_cache_clear(connection=connected, actor=alice.admin) == 2
    assert _cache(connected) == {} and account_cache_summary(connection=connected).entries == 0

    # A new department takes the old name: it gets an Account of its own instead of taking over
    # the renamed one (which the stale entry would have pointed it at).
    newcomer = department_factory(alice.tenant, "Health Canada")
    opportunity_factory(alice.tenant, department=newcomer, title="Clinic fit-out")
    assert push_connection(connection_id=connected.pk).failed == 0
    second = SyncLink.objects.get(record_type="department", record_id=newcomer.pk).salesforce_id
    assert second != first
    assert _account_name(emulator_reset, first) == "Health Canada Branch"
    assert _account_name(emulator_reset, second) == "Health Canada"
    assert _cache(connected) == {"health canada": second}


def test_the_clear_is_scoped_to_its_connection_and_logged_with_the_actor(alice, bob, connected):
    from integrations import connections as svc
    from integrations.models import Environment

    other = svc.connection_create(tenant=bob.tenant, name="Bob org", environment=Environment.PRODUCTION, actor=bob.admin)
    now = timezone.now()
    for connection, name in ((connected, "health canada"), (connected, "parks canada"), (other, "health canada")):
        AccountCacheEntry.objects.create(connection=connection, name_key=name, salesforce_id="001000000000001AAA",
                                         refreshed_at=now - datetime.timedelta(minutes=5))
    summary = account_cache_summary(connection=connected)
    assert summary.entries == 2 and summary.last_refreshed_at == now - datetime.timedelta(minutes=5)
    assert account_cache_clear(connection=connected, actor=alice.admin) == 2
    assert list(AccountCacheEntry.objects.values_list("connection_id", flat=True)) == [other.pk]
    event = ConnectionEvent.objects.filter(connection=connected, kind="account_cache_cleared").get()
    assert event.actor == alice.admin and "2 entries removed" in event.message
    assert account_cache_summary(connection=connected).last_refreshed_at is None


# --- the page ---------------------------------------------------------------------------------

def _fill(connection, n: int = 3) -> None:
    for i in range(n):
        AccountCacheEntry.objects.create(connection=connection, name_key=f"department {i}",
                                         salesforce_id=f"00100000000000{i}AAA", refreshed_at=timezone.now())


def test_the_troubleshooting_card_shows_the_cache_and_the_button_clears_it(alice, connected, web_as):
    _fill(connected)
    client = web_as(alice.admin)
    page = client.get(reverse("integrations:connection", args=[connected.pk])).content.decode()
    assert 'id="troubleshooting"' in page and 'data-testid="account-cache-count">3<' in page
    assert reverse("integrations:account_cache_clear", args=[connected.pk]) in page
    response = client.post(reverse("integrations:account_cache_clear", args=[connected.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("integrations:connection", args=[connected.pk])
    text = response.content.decode()
    assert "Account cache cleared (3 entries)" in text and 'data-testid="account-cache-count">0<' in text
    assert "Cache cleared" in text  # the event log's label
    assert not AccountCacheEntry.objects.exists()


def test_the_clear_needs_a_post_with_csrf(alice, connected, client):
    from django.test import Client

    _fill(connected)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice.admin)
    url = reverse("integrations:account_cache_clear", args=[connected.pk])
    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403  # no CSRF token
    assert AccountCacheEntry.objects.count() == 3


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_below_admin_the_clear_is_refused_and_the_card_is_not_shown(role, alice, connected, web_as):
    _fill(connected)
    client = web_as(getattr(alice, role))
    assert client.post(reverse("integrations:account_cache_clear", args=[connected.pk])).status_code == 403
    assert AccountCacheEntry.objects.count() == 3


def test_another_tenants_connection_is_a_404(alice, bob, connected, web_as, api_as):
    _fill(connected)
    assert web_as(bob.admin).post(reverse("integrations:account_cache_clear", args=[connected.pk])).status_code == 404
    assert api_as(bob.admin_membership).post(f"/api/v1/connections/{connected.pk}/clear-account-cache/").status_code == 404
    assert AccountCacheEntry.objects.count() == 3


# --- the API ----------------------------------------------------------------------------------

def test_the_api_clears_the_cache_for_admins_only(alice, connected, api_as):
    _fill(connected)
    url = f"/api/v1/connections/{connected.pk}/clear-account-cache/"
    for role in ("member", "viewer"):
        assert api_as(getattr(alice, f"{role}_membership")).post(url).status_code == 403
    admin = api_as(alice.admin_membership)
    assert admin.get(url).status_code == 405
    bad = admin.post(url, {"everything": True}, format="json")
    assert bad.status_code == 400 and "everything" in bad.json()["errors"]
    assert AccountCacheEntry.objects.count() == 3
    response = admin.post(url)
    assert response.status_code == 200 and response.json() == {"removed": 3}
    assert not AccountCacheEntry.objects.exists()
    assert ConnectionEvent.objects.filter(connection=connected, kind="account_cache_cleared", actor=alice.admin).exists()


def test_the_action_is_in_the_openapi_schema(db):
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/connections/{id}/clear-account-cache/"]["post"]
    assert operation["summary"] == "Clear the account cache (admin)" and "200" in operation["responses"]
