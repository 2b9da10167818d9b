"""Workflow › CRM and Appointments pages: admins only, another tenant's connection is a 404 on
every page and action, bad input is explained and nothing is saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations import connections as svc
from integrations.models import CredentialMode, SalesforceUserLink
from sync_engine.appointments.config_services import improveit_defaults
from sync_engine.appointments.models import AppointmentSettings

ACTIONS = ["check", "test", "improveit", "add_row", "sign_on", "page"]


@pytest.fixture
def conn(alice):
    """A pending connection: pages that need no org call."""
    return svc.connection_create(tenant=alice.tenant, name="Production", client_id="APPKEY123", client_secret="s3cret-app",
                                 actor=alice.admin)


def _url(name, connection):
    return reverse(f"appointments_config:{name}", args=[connection.pk])


def _form(soql, mappings=(), **extra):
    data = {"soql": soql, "enabled": "on", **extra}
    for i, row in enumerate(mappings):
        data.update({f"m-{i}-{k}": row[k] for k in ("title", "sf_field", "sf_type", "target")})
        if row.get("show_in_notes"):
            data[f"m-{i}-show_in_notes"] = "on"
    return data


def test_the_page_shows_sign_on_editor_mappings_and_members(web_as, alice, conn):
    response = web_as(alice.admin).get(_url("page", conn))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("CRM and Appointments", "Single sign-on", "Multi-user sign-on", "Why OAuth is preferred", "Check syntax",
                 "Test query", "Setup for improveit 360", "Field mappings", "alice-member"):
        assert text in html
    assert reverse("appointments_config:entry") in html  # the nav entry


@pytest.mark.parametrize("action", ACTIONS)
def test_another_tenants_connection_is_a_404_on_every_page_and_action(web_as, bob, conn, action):
    client = web_as(bob.admin)
    response = client.get(_url(action, conn)) if action == "page" else client.post(_url(action, conn), _form("SELECT Id FROM X"))
    assert response.status_code == 404
    assert client.post(_url("page", conn), _form("SELECT Id FROM X")).status_code == 404
    assert not AppointmentSettings.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_members_who_are_not_admins_cannot_open_or_post(web_as, alice, conn, action):
    client = web_as(alice.member)
    response = client.get(_url(action, conn)) if action == "page" else client.post(_url(action, conn), _form("SELECT Id FROM X"))
    assert response.status_code in (403, 404)
    assert not AppointmentSettings.objects.exists()


def test_check_syntax_points_at_the_position_with_a_caret(web_as, alice, conn):
    response = web_as(alice.admin).post(_url("check", conn), _form("SELECT Id,\r\n  Name FORM i360__Appointment__c"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Line 2, column 8:" in html and "expected FROM" in html
    assert '<span class="caret">       ^^^^</span>' in html
    assert not AppointmentSettings.objects.exists()


def test_a_bad_save_explains_every_problem_and_saves_nothing(web_as, alice, conn):
    response = web_as(alice.admin).post(_url("page", conn), _form("SELECT Id FROM X WHERE a = :staff",
                                                                  [{"title": "", "sf_field": "Name", "sf_type": "string", "target": "customer_name"}]))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved." in html and "unknown placeholder :staff" in html
    assert "Give the field a title." in html and "Name is not selected by the query" in html and "Map the essentials" in html
    assert not AppointmentSettings.objects.exists()


def test_improveit_fills_the_query_and_mappings_without_saving(web_as, alice, conn):
    html = web_as(alice.admin).post(_url("improveit", conn), _form("")).content.decode()
    soql, mappings = improveit_defaults()
    assert "Filled in the improveit 360 query and mappings." in html
    assert "WHERE i360__Staff__c = :user_identifier" in html and 'value="i360__Customer_Email__c"' in html
    assert html.count('name="m-') >= len(mappings) * 5
    assert not AppointmentSettings.objects.exists()


def test_add_row_keeps_what_was_typed_and_adds_blank_rows(web_as, alice, conn):
    row = {"title": "Customer", "sf_field": "i360__Customer_Name__c", "sf_type": "string", "target": "customer_name"}
    html = web_as(alice.admin).post(_url("add_row", conn), _form("SELECT Id FROM X", [row])).content.decode()
    assert 'value="i360__Customer_Name__c"' in html and 'name="m-2-title"' in html and 'name="m-3-title"' not in html


def test_removed_rows_are_dropped(web_as, alice, conn):
    row = {"title": "Customer", "sf_field": "i360__Customer_Name__c", "sf_type": "string", "target": "customer_name"}
    html = web_as(alice.admin).post(_url("add_row", conn), {**_form("SELECT Id FROM X", [row]), "m-0-remove": "on"}).content.decode()
    assert 'value="i360__Customer_Name__c"' not in html


def test_test_query_needs_a_member_of_this_tenant(web_as, alice, bob, conn):
    html = web_as(alice.admin).post(_url("test", conn), _form("SELECT Id FROM X", test_member=str(bob.member.pk))).content.decode()
    assert "Choose the member to run the query as." in html


def test_sign_on_mode_changes_through_the_connection_service(web_as, alice, conn):
    client = web_as(alice.admin)
    response = client.post(_url("sign_on", conn), {"credential_mode": "per_user"})
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.credential_mode == CredentialMode.PER_USER
    assert conn.events.filter(kind="updated", message__contains="credential_mode").exists()
    client.post(_url("sign_on", conn), {"credential_mode": "everyone"})
    conn.refresh_from_db()
    assert conn.credential_mode == CredentialMode.PER_USER
    html = client.get(reverse("integrations:connection", args=[conn.pk])).content.decode()
    assert 'name="u%d-security_token"' % alice.member.pk in html and "Why OAuth is preferred" in html


def test_the_nav_entry_opens_the_default_connection(web_as, alice):
    client = web_as(alice.admin)
    response = client.get(reverse("appointments_config:entry"))
    assert response.status_code == 302 and response.url == reverse("integrations:index")
    first = svc.connection_create(tenant=alice.tenant, name="First", client_id="K", client_secret="S", actor=alice.admin)
    second = svc.connection_create(tenant=alice.tenant, name="Second", client_id="K", client_secret="S", actor=alice.admin)
    assert client.get(reverse("appointments_config:entry")).url == _url("page", first)
    svc.connection_set_default(tenant=alice.tenant, connection=second, actor=alice.admin)
    assert client.get(reverse("appointments_config:entry")).url == _url("page", second)


# --- against the emulator ---------------------------------------------------------------------------

def test_save_and_test_query_against_the_org(web_as, alice, admin_connected, riley_staff_id):
    client = web_as(alice.admin)
    soql, mappings = improveit_defaults()
    SalesforceUserLink.objects.create(connection=admin_connected, user=alice.member, unique_identifier=riley_staff_id)
    html = client.post(_url("check", admin_connected), _form(soql, mappings)).content.decode()
    assert "The query is valid: object i360__Appointment__c and 12 selected fields found in the org." in html
    assert "Mappings check out too." in html
    html = client.post(_url("test", admin_connected), _form(soql, mappings, test_member=str(alice.member.pk))).content.decode()
    assert "Jordan Homeowner" in html and "Casey Client" in html and "LIMIT 10" in html
    response = client.post(_url("page", admin_connected), _form(soql, mappings))
    assert response.status_code == 302
    settings = AppointmentSettings.objects.get(connection=admin_connected)
    assert settings.enabled and len(settings.field_mappings) == len(mappings) and settings.soql == soql
    assert settings.field_mappings[-1] == {"title": "Sales rep", "sf_field": "i360__Staff__r.Name", "sf_type": "string",
                                           "target": "", "show_in_notes": True}
