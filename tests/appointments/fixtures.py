"""Fixtures for the appointment configuration (also imported by tests/browser/test_appointments_config.py): alice's org connected to the emulator's demo org
as its System Administrator (the demo integration user's profile does not reach the i360
objects in every version of the demo org; the admin always does), and the demo rep's Staff id."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_cached_member_sessions():
    """Member sessions are cached by link id, and ids repeat across test databases."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_connected(alice, emulator_reset):
    from integrations import connections as svc
    from integrations.models import Environment
    from sync_engine.governor import get_governor

    creds = emulator_reset.demo
    connection = svc.connection_create(
        tenant=alice.tenant, name="Demo org", environment=Environment.CUSTOM, login_url=emulator_reset.instance_url,
        client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle,
        actor=alice.admin)
    admin = creds["admin"]
    connection = svc.connection_connect_password(connection=connection, username=admin["username"], password=admin["password"],
                                                 security_token=admin["security_token"], actor=alice.admin)
    get_governor().resume(connection.pk)
    yield connection
    get_governor().resume(connection.pk)


@pytest.fixture
def admin_sf(emulator_reset):
    """simple-salesforce as the demo org's admin (to read and arrange test data)."""
    admin = emulator_reset.demo["admin"]["username"]
    return emulator_reset.sf(token=emulator_reset.token("demo", admin))


@pytest.fixture
def riley_staff_id(admin_sf) -> str:
    return admin_sf.query("SELECT Id FROM i360__Staff__c WHERE Name = 'Riley Rep'")["records"][0]["Id"]


@pytest.fixture
def rep_login(emulator_reset) -> dict:
    return next(u for u in emulator_reset.demo["users"] if u["username"].startswith("rep@"))
