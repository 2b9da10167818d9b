"""Shared fixtures: two tenants (alice's and bob's) with one user per role, API clients.

Every tenant-scoped endpoint is tested from the other tenant's side too: bob must get 404 for
alice's records. The backend (PostgreSQL/SQLite, Redis or not) is chosen by
scripts/run_tests.py and printed in the header of every run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

# The emulator fixtures live in their own module (the emulator process is started once per run);
# the browser fixtures too (one session browser for every package's browser tests).
pytest_plugins = ["tests.emulator_process", "tests.browser_fixtures"]


def pytest_report_header(config) -> list[str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    redis = settings.REDIS_URL or "not used (embedded broker: kombu filesystem transport)"
    return [
        f"cothon backend: database={db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db['NAME']}), redis={redis}",
    ]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every test creates several users; PBKDF2 would dominate the run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class TenantWorld:
    tenant: object
    admin: object
    member: object
    viewer: object
    admin_membership: object
    member_membership: object
    viewer_membership: object


def _make_world(slug: str, name: str) -> TenantWorld:
    from cothon.tenancy.services import membership_set, tenant_create, user_get_or_create

    tenant = tenant_create(name=name, slug=slug)
    users = {}
    memberships = {}
    for role in ("admin", "member", "viewer"):
        user = user_get_or_create(username=f"{slug}-{role}", email=f"{role}@{slug}.example", password="pass-word-123")
        users[role] = user
        memberships[role] = membership_set(tenant=tenant, user=user, role=role)
    return TenantWorld(tenant, users["admin"], users["member"], users["viewer"],
                       memberships["admin"], memberships["member"], memberships["viewer"])


@pytest.fixture
def alice(db) -> TenantWorld:
    """Tenant A with an admin, a member (bid manager) and a viewer."""
    return _make_world("alice", "Alice Bids Inc.")


@pytest.fixture
def bob(db) -> TenantWorld:
    """Tenant B: must never see tenant A's records."""
    return _make_world("bob", "Bob Procurement Ltd.")


def _token_client(membership):
    from rest_framework.test import APIClient

    from cothon.tenancy.services import api_token_create

    _, key = api_token_create(membership=membership)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api_as():
    """api_as(membership) -> an APIClient authenticated with a fresh token of that membership."""
    return _token_client


@pytest.fixture
def web_as(client):
    """web_as(user) -> the Django test client logged in as that user (session auth)."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def department_factory():
    from opportunities.services import department_create

    def make(tenant, name="Shared Services Canada", **kwargs):
        return department_create(tenant=tenant, name=name, **kwargs)

    return make


@pytest.fixture
def opportunity_factory():
    import datetime

    from opportunities.services import opportunity_create

    counter = {"n": 0}

    def make(tenant, **data):
        counter["n"] += 1
        defaults = {
            "title": f"Cloud hosting services {counter['n']}",
            "reference": f"W6369-{225000 + counter['n']}/A",
            "value_min": 100000,
            "value_max": 250000,
            "closing_date": datetime.date.today() + datetime.timedelta(days=30),
            "status": "identified",
        }
        defaults.update(data)
        return opportunity_create(tenant=tenant, **defaults)

    return make


@pytest.fixture(scope="session")
def browser_executable() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.path.exists(path):
        pytest.fail(f"Chromium not found at {path}: install it (apt-get install chromium) or set CHROMIUM_PATH")
    return path


@pytest.fixture(autouse=True)
def fresh_governor_state():
    """Connection ids repeat across test databases: start each test with no governor memory in
    Redis (the database backend is rolled back with the test)."""
    yield
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        from sync_engine.governor import key_prefix

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{key_prefix()}:*"):
            client.delete(key)


@pytest.fixture
def connected(alice, emulator_reset):
    """Alice's organization connected to the emulator's demo org through the real connect flow
    (client credentials), with no governor memory before or after the test."""
    from integrations import connections as svc
    from integrations.models import Environment
    from sync_engine.governor import get_governor

    creds = emulator_reset.demo
    connection = svc.connection_create(
        tenant=alice.tenant, name="Demo org", environment=Environment.CUSTOM, login_url=emulator_reset.instance_url,
        client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle,
        actor=alice.admin)
    connection = svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)
    get_governor().resume(connection.pk)
    yield connection
    get_governor().resume(connection.pk)


@pytest.fixture
def deleted_in_salesforce(alice, connected, emulator_reset, opportunity_factory):
    """One of alice's opportunities pushed, then deleted in Salesforce and edited in Cothon: the
    push marks its link "deleted in Salesforce". Returns (opportunity, the dead Salesforce id)."""
    import datetime

    from opportunities import services as opp
    from sync_engine.executor import push_connection
    from sync_engine.models import LinkStatus, SyncLink

    opportunity = opportunity_factory(alice.tenant, title="Bridge inspection services", closing_date=datetime.date(2031, 5, 14))
    assert push_connection(connection_id=connected.pk).failed == 0
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk, sobject="Opportunity")
    emulator_reset.sf().Opportunity.delete(link.salesforce_id)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"description": "Edited after the delete"})
    push_connection(connection_id=connected.pk)
    link.refresh_from_db()
    assert link.status == LinkStatus.DELETED_IN_SALESFORCE
    opportunity.refresh_from_db()
    return opportunity, link.salesforce_id


def salesforce_opportunity(emulator, name: str = "Bridge inspection, Ottawa region", close: str = "2031-05-14",
                           ref: str = "LEGACY-77") -> str:
    """Create an opportunity directly in the emulator's org (as a sales rep would); its id."""
    sf = emulator.sf()
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    return sf.Opportunity.create({"Name": name, "StageName": "Prospecting", "CloseDate": close, "AccountId": account,
                                  "Cothon_Ref__c": ref})["id"]
