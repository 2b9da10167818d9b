"""Settings › Integrations › Salesforce pages: connect, OAuth callback, connection page, user
mapping, settings editor and history, dry run, custom fields. Tenancy and roles first."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from integrations import connections as svc
from integrations.models import ConnectionStatus, Environment, SalesforceConnection, SalesforceUserLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def conn(alice):
    """A pending (not yet signed-in) connection of alice's tenant: no network needed."""
    return svc.connection_create(tenant=alice.tenant, name="Production", client_id="APPKEY123", client_secret="s3cret-app",
                                 actor=alice.admin)


def _url(name, connection, *extra):
    return reverse(f"integrations:{name}", args=[connection.pk, *extra])


def _html(response) -> str:
    return response.content.decode()


def _settings_post(connection, **overrides):
    """The settings editor's POST for the connection's current settings, with overrides."""
    from integrations.forms import SettingsForm
    from integrations.sync_settings import settings_current

    form = SettingsForm(base=settings_current(connection=connection))
    data = form.data
    post: dict[str, object] = {"direction": data["direction"], "value_conversion": data["value_conversion"],
                               "mapping_count": str(len(data["opportunity_mappings"])), "action": "save"}
    for i, m in enumerate(data["opportunity_mappings"]):
        post[f"opportunity_mappings[{i}].cothon_field"] = m["cothon_field"]
        post[f"opportunity_mappings[{i}].sf_field"] = m["sf_field"]
        post[f"opportunity_mappings[{i}].picklist_map"] = m.get("picklist_map", "")
        post[f"opportunity_mappings[{i}].direction"] = data["field_directions"].get(m["sf_field"], "both")
        if m.get("enabled", True):
            post[f"opportunity_mappings[{i}].enabled"] = "on"
    for status, stage in data["stage_mapping"].items():
        post[f"stage_mapping.{status}"] = stage
    for name, values in data["picklist_maps"].items():
        for key, value in values.items():
            post[f"picklist_maps.{name}.{key}"] = value
    for key, rule in data["conflict_rules"].items():
        post[f"conflict_rules.{key}"] = rule
    post["filters.min_value"] = data["filters"]["min_value"] or ""
    post["frequencies.incremental_minutes"] = str(data["frequencies"]["incremental_minutes"])
    post["frequencies.reconciliation_minutes"] = str(data["frequencies"]["reconciliation_minutes"])
    post["frequencies.daily_full_at"] = data["frequencies"]["daily_full_at"]
    post["activity.mode"] = data["activity"]["mode"]
    post["activity.batch_window_minutes"] = str(data["activity"]["batch_window_minutes"])
    post["activity.min_value"] = ""
    post["bulk_threshold"] = str(data["bulk_threshold"])
    post["owner_mode"] = data["owner_mode"]
    post["import_filter.stages"] = "\n".join(data["import_filter"]["stages"])
    for key in ("import_new", "import_filter.require_cothon_ref", "propagate_deletes", "parallel_sync", "flag_conflicts_for_review"):
        section, _, leaf = key.rpartition(".")
        if (data[section] if section else data)[leaf]:
            post[key] = "on"
    for name, values in data["picklist_reverse"].items():
        for sf_value, cothon_value in values.items():
            post[f"picklist_reverse.{name}.{sf_value}"] = cothon_value
    post.update(overrides)
    return post


# --- tenancy and roles ----------------------------------------------------------------------------

PAGES = ["connection", "settings", "settings_history", "dry_run", "custom_fields", "disconnect", "reconnect"]
ACTIONS = ["refresh", "disconnect", "make_default", "update", "user_links", "user_links_prefill", "settings", "custom_fields", "reconnect"]


@pytest.mark.parametrize("name", PAGES)
def test_another_tenants_connection_pages_are_404(web_as, bob, conn, name):
    assert web_as(bob.admin).get(_url(name, conn)).status_code == 404


@pytest.mark.parametrize("name", ACTIONS)
def test_another_tenants_connection_cannot_be_changed(web_as, bob, conn, name):
    assert web_as(bob.admin).post(_url(name, conn), {"name": "Hijacked"}).status_code == 404
    conn.refresh_from_db()
    assert conn.name == "Production" and conn.status == ConnectionStatus.PENDING


@pytest.mark.parametrize("name", ACTIONS)
def test_viewers_cannot_change_anything(web_as, alice, conn, name):
    assert web_as(alice.viewer).post(_url(name, conn), {"name": "Renamed"}).status_code == 403
    conn.refresh_from_db()
    assert conn.name == "Production" and conn.settings_versions.count() == 1


@pytest.mark.parametrize("name", ["refresh", "disconnect", "make_default", "update", "user_links", "custom_fields", "reconnect"])
def test_members_cannot_change_the_connection(web_as, alice, conn, name):
    assert web_as(alice.member).post(_url(name, conn), {"name": "Renamed"}).status_code == 403


def test_connect_is_for_admins(web_as, alice):
    assert web_as(alice.member).get(reverse("integrations:connect")).status_code == 403
    assert web_as(alice.viewer).post(reverse("integrations:connect"), {"name": "X"}).status_code == 403
    assert not SalesforceConnection.objects.exists()


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_get_no_connection_page(web_as, alice, conn, role):
    """Settings › Integrations is admin-only (docs/user-guide.md, Roles): org id, integration
    username and the event log stay with admins."""
    SalesforceUserLink.objects.create(connection=conn, user=alice.member, salesforce_user_id="005000000000001AAA",
                                      username="member@sf.example")
    response = web_as(getattr(alice, role)).get(_url("connection", conn))
    assert response.status_code == 403
    html = _html(response)
    assert "You don’t have access to this" in html
    for hidden in ("APPKEY123", "s3cret-app", "Consumer key", "member@sf.example", "Health", conn.name):
        assert hidden not in html, hidden


def test_members_neither_read_nor_save_the_sync_settings(web_as, alice, conn):
    client = web_as(alice.member)
    assert client.get(_url("settings", conn)).status_code == 403
    assert client.get(_url("settings_history", conn)).status_code == 403
    response = client.post(_url("settings", conn), _settings_post(conn, direction="push"))
    assert response.status_code == 403
    assert conn.settings_versions.count() == 1


def test_admins_never_see_tokens_or_the_client_secret(web_as, alice, conn):
    html = _html(web_as(alice.admin).get(_url("connection", conn)))
    assert "s3cret-app" not in html and "Stored encrypted" in html
    assert "APPKEY123"[:10] in html  # the consumer key is not a secret; admins may check it


# --- connect --------------------------------------------------------------------------------------

def _connect(client, **fields):
    data = {"name": "Production", "environment": "production", "auth_method": "oauth_web", "client_id": "APPKEY", "client_secret": "SECRET"}
    data.update(fields)
    return client.post(reverse("integrations:connect"), data)


def test_connect_page_explains_the_methods_and_the_callback(web_as, alice, settings):
    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = False  # a production server (the test suite allows the emulator)
    html = _html(web_as(alice.admin).get(reverse("integrations:connect")))
    assert "OAuth web server flow (recommended)" in html
    assert "retires SOAP login() from API v65.0" in html
    assert "http://testserver/settings/integrations/salesforce/oauth/callback/" in html
    assert "CA bundle" not in html  # DEBUG and the loopback flag off: no per-connection CA bundle


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"name": ""}, "name", "Give the connection a name"),
    ({"environment": "custom", "login_url": "http://example.com"}, "login_url", "must start with https://"),
    ({"environment": "custom", "login_url": ""}, "login_url", "My Domain login URL for a custom environment"),
    ({"client_id": "KEY", "client_secret": ""}, "client_secret", "consumer secret too"),
    ({"auth_method": "password", "username": ""}, "username", "Enter the Salesforce username."),
])
def test_bad_connect_input_is_shown_inline_and_nothing_is_created(web_as, alice, fields, field, message):
    response = _connect(web_as(alice.admin), **fields)
    assert response.status_code == 200
    html = _html(response)
    assert "Nothing was saved." in html
    errors = html.split(f'id="id_{field}-errors"')[1].split("</ul>")[0]
    assert message in errors
    assert not SalesforceConnection.objects.exists()


def test_without_a_product_app_the_consumer_key_is_required(web_as, alice, settings):
    settings.SALESFORCE_CLIENT_ID = ""
    html = _html(_connect(web_as(alice.admin), client_id=""))
    assert "no product-wide connected app" in html.split('id="id_client_id-errors"')[1].split("</ul>")[0]
    assert not SalesforceConnection.objects.exists()


def test_with_a_product_app_the_consumer_key_is_optional(web_as, alice, settings):
    settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = "PRODUCTKEY", "PRODUCTSECRET"
    response = _connect(web_as(alice.admin), client_id="", client_secret="")
    assert response.status_code == 302 and "client_id=PRODUCTKEY" in response["Location"]


def test_a_duplicate_name_is_refused_inline(web_as, alice, conn):
    html = _html(_connect(web_as(alice.admin), name="Production"))
    assert "Another connection already has this name." in html.split('id="id_name-errors"')[1].split("</ul>")[0]
    assert SalesforceConnection.objects.count() == 1


def test_connect_with_oauth_redirects_to_salesforce_with_pkce_and_keeps_state_in_the_session(web_as, alice):
    client = web_as(alice.admin)
    response = _connect(client, client_id="APPKEY", client_secret="SECRET")
    assert response.status_code == 302
    url = urlparse(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://login.salesforce.com/services/oauth2/authorize"
    params = parse_qs(url.query)
    assert params["client_id"] == ["APPKEY"] and params["code_challenge_method"] == ["S256"]
    assert params["redirect_uri"] == ["http://testserver/settings/integrations/salesforce/oauth/callback/"]
    pending = client.session["salesforce_oauth_pending"]
    assert params["state"][0] in pending and pending[params["state"][0]]["verifier"]
    connection = SalesforceConnection.objects.get()
    assert connection.status == ConnectionStatus.PENDING and connection.is_default


def test_the_callback_refuses_an_unknown_state(web_as, alice):
    client = web_as(alice.admin)
    _connect(client, client_id="APPKEY", client_secret="SECRET")
    response = client.get(reverse("integrations:oauth_callback"), {"state": "forged", "code": "abc"})
    assert response.status_code == 400
    assert "This Salesforce sign-in was refused" in _html(response)
    assert SalesforceConnection.objects.get().status == ConnectionStatus.PENDING


def test_the_callback_refuses_a_state_of_another_session(web_as, client, alice, bob):
    from django.test import Client

    response = _connect(web_as(alice.admin), client_id="APPKEY", client_secret="SECRET")
    state = parse_qs(urlparse(response["Location"]).query)["state"][0]
    other = Client()
    other.force_login(alice.admin)
    assert other.get(reverse("integrations:oauth_callback"), {"state": state, "code": "abc"}).status_code == 400


def test_an_authorize_error_is_shown_plainly_on_the_connection_page(web_as, alice):
    client = web_as(alice.admin)
    response = _connect(client, client_id="APPKEY", client_secret="SECRET")
    state = parse_qs(urlparse(response["Location"]).query)["state"][0]
    response = client.get(reverse("integrations:oauth_callback"),
                          {"state": state, "error": "access_denied", "error_description": "end-user denied authorization"})
    connection = SalesforceConnection.objects.get()
    assert response.status_code == 302 and response["Location"] == _url("connection", connection)
    html = _html(client.get(response["Location"]))
    assert "access_denied" in html and "end-user denied authorization" in html
    assert "Click Reconnect and choose Allow" in html
    # The state is single-use.
    assert client.get(reverse("integrations:oauth_callback"), {"state": state, "code": "x"}).status_code == 400


# --- connection page actions --------------------------------------------------------------------

def test_disconnect_asks_first_then_keeps_data_and_stops_syncing(web_as, alice, conn):
    client = web_as(alice.admin)
    html = _html(client.get(_url("disconnect", conn)))
    assert "keeps all data on both sides; records stop syncing" in html
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.PENDING
    response = client.post(_url("disconnect", conn))
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.DISCONNECTED
    assert "Disconnected" in _html(client.get(_url("connection", conn)))


def test_needs_reconnect_is_prominent_and_mentions_sandbox_refresh(web_as, alice):
    conn = svc.connection_create(tenant=alice.tenant, name="UAT", environment=Environment.SANDBOX, client_id="K", client_secret="S")
    SalesforceConnection.objects.filter(pk=conn.pk).update(status=ConnectionStatus.NEEDS_RECONNECT, last_error_code="invalid_grant",
                                                           last_error_message="expired access/refresh token")
    html = _html(web_as(alice.admin).get(_url("connection", conn)))
    assert 'id="needs-reconnect"' in html and "sandbox is refreshed" in html
    assert "invalid_grant" in html and "expired access/refresh token" in html
    assert "Reconnect the integration." in html  # the fix hint
    assert "Reconnect now" in html


def test_make_default_and_push_switch(web_as, alice, conn):
    client = web_as(alice.admin)
    uat = svc.connection_create(tenant=alice.tenant, name="UAT", environment=Environment.SANDBOX, client_id="K", client_secret="S")
    assert not uat.push_enabled and not uat.is_default
    client.post(_url("update", uat), {"name": "UAT", "push_enabled": "on", "credential_mode": "integration_user"})
    client.post(_url("make_default", uat))
    uat.refresh_from_db()
    conn.refresh_from_db()
    assert uat.push_enabled and uat.is_default and not conn.is_default
    assert uat.events.filter(kind="made_default").exists()


def test_renaming_to_a_taken_name_is_refused(web_as, alice, conn):
    uat = svc.connection_create(tenant=alice.tenant, name="UAT", environment=Environment.SANDBOX, client_id="K", client_secret="S")
    response = web_as(alice.admin).post(_url("update", uat), {"name": "Production", "credential_mode": "integration_user"}, follow=True)
    uat.refresh_from_db()
    assert uat.name == "UAT"
    assert "already" in _html(response).lower()


def test_password_reconnect_asks_for_the_login(web_as, alice):
    conn = svc.connection_create(tenant=alice.tenant, name="Legacy", auth_method="password")
    html = _html(web_as(alice.admin).get(_url("reconnect", conn)))
    assert "Salesforce username" in html and "Security token" in html and "Legacy sign-in" in html
    response = web_as(alice.admin).post(_url("reconnect", conn), {"username": "", "password": ""})
    assert "Enter the Salesforce username." in _html(response)


# --- user mapping ---------------------------------------------------------------------------------

def test_user_mapping_saves_ids_and_write_only_passwords(web_as, alice, conn):
    # Multi-user logins are verified with Salesforce on save (tests/appointments/test_member_logins.py);
    # here, single sign-on: the ids and the write-only password box.
    client = web_as(alice.admin)
    uid = alice.member.pk
    response = client.post(_url("user_links", conn), {f"u{uid}-salesforce_user_id": "005000000000001AAA",
                                                      f"u{uid}-unique_identifier": "a0B000000000001",
                                                      f"u{uid}-username": "member@sf.example", f"u{uid}-password": "pw+token"})
    assert response.status_code == 302
    link = SalesforceUserLink.objects.get(connection=conn, user=alice.member)
    assert link.salesforce_user_id == "005000000000001AAA" and link.unique_identifier == "a0B000000000001"
    assert link.password_encrypted
    client.post(_url("update", conn), {"name": "Production", "credential_mode": "per_user"})
    html = _html(client.get(_url("connection", conn)))
    assert "pw+token" not in html and "Stored — type to replace" in html
    client.post(_url("update", conn), {"name": "Production", "credential_mode": "integration_user"})
    # An empty password box keeps the stored password.
    client.post(_url("user_links", conn), {f"u{uid}-salesforce_user_id": "005000000000001AAA", f"u{uid}-unique_identifier": "a0B000000000002",
                                           f"u{uid}-username": "member@sf.example", f"u{uid}-password": ""})
    link.refresh_from_db()
    assert link.unique_identifier == "a0B000000000002" and link.password_encrypted


def test_a_bad_salesforce_user_id_saves_nothing(web_as, alice, conn):
    response = web_as(alice.admin).post(_url("user_links", conn), {
        f"u{alice.admin.pk}-salesforce_user_id": "005000000000002AAA",
        f"u{alice.member.pk}-salesforce_user_id": "not-an-id",
    })
    assert response.status_code == 400
    html = _html(response)
    assert "Nothing was saved." in html and "starts with 005" in html and 'value="not-an-id"' in html
    assert not SalesforceUserLink.objects.exists()


# --- settings editor ------------------------------------------------------------------------------

def test_the_editor_shows_every_section_with_locked_rows(web_as, alice, conn):
    html = _html(web_as(alice.admin).get(_url("settings", conn)))
    for text in ("Sync direction", "Field mappings", "Stage mapping", "Picklist maps", "Conflict rules", "Flag conflicts for review",
                 "Filters", "Incremental sync every (minutes)", "Times in America/Toronto", "Activity logging", "Parallel sync",
                 "Bulk API threshold", "Procurement method → Type (recommended)", "Switch Type to this map"):
        assert text in html, text
    assert html.count('class="is-locked"') == 4
    assert 'name="opportunity_mappings[0].sf_field" value="Name"' in html


@pytest.mark.parametrize("sobject, removable", [("Bid__c", True), ("Opportunity", False)])
def test_the_amount_mapping_can_be_removed_only_for_a_custom_opportunity_object(web_as, alice, conn, sobject, removable):
    from integrations.sync_settings import settings_current, settings_save, sync_settings_for

    data = settings_current(connection=conn)
    data["objects"]["opportunity"] = sobject
    settings_save(connection=conn, data=data, actor=alice.admin, against_org=False)
    post = _settings_post(conn)
    row = next(i for i, m in enumerate(data["opportunity_mappings"]) if m["cothon_field"] == "value")
    post[f"opportunity_mappings[{row}].remove"] = "on"
    web_as(alice.admin).post(_url("settings", conn), post)
    assert (sync_settings_for(connection=conn).mapping_for("value") is None) == removable


def test_saving_valid_settings_adds_a_version_with_who_and_what(web_as, alice, conn):
    client = web_as(alice.admin)
    response = client.post(_url("settings", conn), _settings_post(conn, direction="push", **{"frequencies.incremental_minutes": "30",
                                                                                            "filters.min_value": "50000"}))
    assert response.status_code == 302
    version = conn.settings_versions.first()
    assert version.version == 2 and version.changed_by == alice.admin
    assert version.data["direction"] == "push" and version.data["frequencies"]["incremental_minutes"] == 30
    assert version.data["filters"]["min_value"] == "50000"
    html = _html(client.get(_url("settings_history", conn)))
    assert "Version 2" in html and "Sync direction: Both ways → Cothon → Salesforce" in html
    assert "Incremental sync every (minutes): 15 → 30" in html
    assert "alice-admin" in html and "Version 1" in html


def test_saving_unchanged_settings_adds_no_version(web_as, alice, conn):
    web_as(alice.admin).post(_url("settings", conn), _settings_post(conn))
    assert conn.settings_versions.count() == 1


@pytest.mark.parametrize(("overrides", "input_id", "message"), [
    ({"stage_mapping.lost": "Closed Won"}, "s-stage-mapping-lost", "stage mappings must be 1:1"),
    ({"stage_mapping.won": ""}, "s-stage-mapping-won", "Choose the Salesforce stage for “Won”"),
    ({"frequencies.incremental_minutes": "abc"}, "s-frequencies-incremental-minutes", "Must be a whole number from 5 to 1440"),
    ({"frequencies.daily_full_at": "25:99"}, "s-frequencies-daily-full-at", "Use a 24-hour time like 02:00."),
    ({"bulk_threshold": "0"}, "s-bulk-threshold", "Must be a whole number from 1 to 1000000"),
    ({"filters.min_value": "-5"}, "s-filters-min-value", "Minimum value must be a positive amount"),
    ({"opportunity_mappings[0].sf_field": "Description"}, "s-opportunity-mappings-0-sf-field", "always maps to Name"),
    ({"opportunity_mappings[8].sf_field": "Type"}, "s-opportunity-mappings-8-sf-field", "already the target of another mapping"),
])
def test_invalid_settings_show_inline_errors_and_save_nothing(web_as, alice, conn, overrides, input_id, message):
    response = web_as(alice.admin).post(_url("settings", conn), _settings_post(conn, **overrides))
    assert response.status_code == 400
    html = _html(response)
    assert "Nothing was saved" in html and f'href="#{input_id}"' in html  # the summary links to the input
    errors = html.split(f'id="{input_id}-errors"')[1].split("</ul>")[0]
    assert message in errors
    assert conn.settings_versions.count() == 1


def test_a_removed_row_keeps_errors_on_the_right_rows(web_as, alice, conn):
    # Remove the department row (5) and break the row after it (status, 6): the error stays on row 6.
    response = web_as(alice.admin).post(_url("settings", conn), _settings_post(conn, **{
        "opportunity_mappings[5].remove": "on", "opportunity_mappings[6].sf_field": "Name"}))
    assert response.status_code == 400
    html = _html(response)
    assert "already the target" in html.split('id="s-opportunity-mappings-6-sf-field-errors"')[1].split("</ul>")[0]
    assert conn.settings_versions.count() == 1


def test_switching_type_to_the_procurement_method_map_needs_a_save(web_as, alice, conn):
    client = web_as(alice.admin)
    response = client.post(_url("settings", conn), _settings_post(conn, action="type_from_method"))
    assert response.status_code == 200 and "Type now follows the procurement method" in _html(response)
    assert conn.settings_versions.count() == 1
    post = _settings_post(conn)
    post["opportunity_mappings[7].cothon_field"] = "procurement_method"
    post["opportunity_mappings[7].picklist_map"] = "procurement_method_to_type"
    assert client.post(_url("settings", conn), post).status_code == 302
    type_row = [m for m in conn.settings_versions.first().data["opportunity_mappings"] if m["sf_field"] == "Type"][0]
    assert type_row == {"cothon_field": "procurement_method", "sf_field": "Type", "locked": False, "picklist_map": "procurement_method_to_type"}


def test_hybrid_direction_per_field(web_as, alice, conn):
    post = _settings_post(conn, direction="hybrid", **{"opportunity_mappings[15].direction": "pull"})
    assert web_as(alice.admin).post(_url("settings", conn), post).status_code == 302
    data = conn.settings_versions.first().data
    assert data["direction"] == "hybrid" and data["field_directions"] == {"OwnerId": "pull"}


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "Not valid JSON"),
    ("[1, 2]", "one JSON object"),
    ('{"direction": "sideways"}', "Nothing was saved"),
])
def test_invalid_settings_json_is_refused(web_as, alice, conn, text, message):
    response = web_as(alice.admin).post(_url("settings", conn), {"mode": "json", "settings_json": text})
    assert response.status_code == 400
    assert message in _html(response).split('id="json-errors"')[1]
    assert conn.settings_versions.count() == 1


def test_valid_settings_json_saves_a_version(web_as, alice, conn):
    import json

    from integrations.sync_settings import settings_current

    data = settings_current(connection=conn)
    data["bulk_threshold"] = 100
    response = web_as(alice.admin).post(_url("settings", conn), {"mode": "json", "settings_json": json.dumps(data)})
    assert response.status_code == 302
    assert conn.settings_versions.first().data["bulk_threshold"] == 100


def test_the_editor_saves_import_deletes_and_owner_settings(web_as, alice, conn):
    client = web_as(alice.admin)
    html = _html(client.get(_url("settings", conn)))
    for text in ("Records created or deleted in Salesforce", "Import opportunities created in Salesforce",
                 "Only opportunities in these stages", "Only opportunities that have a Cothon reference",
                 "Delete in Cothon what is deleted in Salesforce (not yet available)", "Assigned team member",
                 "Add as an Opportunity Team Member", 'id="team-member-not-available"'):
        assert text in html, text
    assert 'name="import_filter.stages"' in html and "<textarea" in html  # not connected: stage names typed one per line
    post = _settings_post(conn, direction="pull", owner_mode="both", import_new="on", propagate_deletes="on",
                          **{"import_filter.stages": "Prospecting\n Qualification \n\nProspecting",
                             "import_filter.require_cothon_ref": "on"})
    assert client.post(_url("settings", conn), post).status_code == 302
    data = conn.settings_versions.first().data
    assert data["direction"] == "pull" and data["owner_mode"] == "both"
    assert data["import_new"] is True and data["propagate_deletes"] is True
    assert data["import_filter"] == {"stages": ["Prospecting", "Qualification"], "require_cothon_ref": True}
    html = _html(client.get(_url("settings", conn)))
    assert 'name="import_new" checked' in html and 'value="both" checked' in html

    post = _settings_post(conn)
    del post["import_new"]  # unticked
    assert client.post(_url("settings", conn), post).status_code == 302
    assert conn.settings_versions.first().data["import_new"] is False


def test_a_bad_owner_mode_is_refused_and_nothing_saved(web_as, alice, conn):
    response = web_as(alice.admin).post(_url("settings", conn), _settings_post(conn, owner_mode="manager"))
    assert response.status_code == 400
    assert "Must be one of owner, team_member, both" in _html(response).split('id="s-owner-mode-errors"')[1].split("</ul>")[0]
    assert conn.settings_versions.count() == 1


def test_a_picklist_map_sending_two_values_to_one_needs_a_reverse_value_before_saving(web_as, alice, conn):
    client = web_as(alice.admin)
    # Pass and Review both become "Pass" in Salesforce: which one does "Pass" become in Cothon?
    response = client.post(_url("settings", conn), _settings_post(conn, **{"picklist_maps.pursuit_decision.review": "Pass"}))
    assert response.status_code == 400
    html = _html(response)
    errors = html.split('id="s-picklist-reverse-pursuit-decision-Pass-errors"')[1].split("</ul>")[0]
    assert "Picklist map “Pursuit decision → Cothon_Pursuit__c” sends Pass and Review to “Pass”" in errors
    assert 'href="#s-picklist-reverse-pursuit-decision-Pass"' in html  # the summary links to the new input
    assert conn.settings_versions.count() == 1

    post = _settings_post(conn, **{"picklist_maps.pursuit_decision.review": "Pass",
                                   "picklist_reverse.pursuit_decision.Pass": "review"})
    assert client.post(_url("settings", conn), post).status_code == 302
    data = conn.settings_versions.first().data
    assert data["picklist_reverse"]["pursuit_decision"] == {"Pass": "review"}
    html = _html(client.get(_url("settings", conn)))
    assert "“Pass” from Salesforce becomes" in html

    # Once the map is one to one again, the reverse value is no longer needed and is dropped.
    post = _settings_post(conn, **{"picklist_maps.pursuit_decision.review": "Review Needed"})
    assert client.post(_url("settings", conn), post).status_code == 302
    assert "pursuit_decision" not in conn.settings_versions.first().data["picklist_reverse"]


def test_settings_json_with_a_bad_reverse_value_is_refused(web_as, alice, conn):
    import json

    from integrations.sync_settings import settings_current

    data = settings_current(connection=conn)
    data["picklist_reverse"]["category_to_type"]["Services"] = "goods"
    response = web_as(alice.admin).post(_url("settings", conn), {"mode": "json", "settings_json": json.dumps(data)})
    assert response.status_code == 400
    assert "would come back as Goods" in _html(response).split('id="json-errors"')[1]
    assert conn.settings_versions.count() == 1


# --- dry run --------------------------------------------------------------------------------------

def test_admins_run_a_dry_run_and_see_every_payload_field(web_as, alice, conn, opportunity_factory, department_factory):
    dept = department_factory(alice.tenant)
    opportunity = opportunity_factory(alice.tenant, title="Managed network services", reference="EN578-230001/B", department=dept)
    client = web_as(alice.admin)
    html = _html(client.get(_url("dry_run", conn), {"q": "EN578"}))
    assert "EN578-230001/B" in html and "Pick an opportunity" in html
    html = _html(client.get(_url("dry_run", conn), {"opportunity": opportunity.pk}))
    assert "not connected: fields are not checked against the org" in html
    assert "Account" in html and "Cothon_Department_Key__c" in html
    assert "Cothon_Ref__c" in html and "EN578-230001/B" in html and "175000" in html  # midpoint of 100k-250k
    assert "Skipped fields" in html and "Empty in Cothon." in html
    assert "No API write was made." in html


def test_a_dry_run_of_another_tenants_opportunity_is_404(web_as, alice, bob, conn, opportunity_factory):
    opportunity = opportunity_factory(bob.tenant)
    assert web_as(alice.admin).get(_url("dry_run", conn), {"opportunity": opportunity.pk}).status_code == 404
    assert web_as(alice.admin).get(_url("dry_run", conn), {"opportunity": "x"}).status_code == 404


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_run_a_dry_run(web_as, alice, conn, role):
    assert web_as(getattr(alice, role)).get(_url("dry_run", conn)).status_code == 403


def test_custom_fields_need_a_connected_org(web_as, alice, conn):
    html = _html(web_as(alice.admin).get(_url("custom_fields", conn)))
    assert "Connect the org first" in html and "Install custom fields" in html


def test_the_settings_page_says_plainly_what_each_part_does(web_as, alice, conn):
    """The pull, the conflict rules and reconciliation work: the page says how, with a link to the
    Conflicts page, and no longer says any of them is missing."""
    html = web_as(alice.admin).get(_url("settings", conn)).content.decode()
    assert 'id="pull-in-effect"' in html and "Changes made in Salesforce come back to Cothon" in html
    assert 'id="conflicts-applied"' in html and "not available yet" not in html
    assert f'href="/settings/integrations/salesforce/{conn.pk}/conflicts/">Conflicts page</a>' in html
    assert "Reconciliation does not run yet" not in html and "Reconciliation re-reads both sides" in html


def test_the_version_history_speaks_plain_words_not_settings_paths(web_as, alice):
    from integrations.models import ConnectionSettingsVersion, SalesforceConnection

    connection = SalesforceConnection.objects.create(tenant=alice.tenant, name="Prod", login_url="https://login.salesforce.com",
                                                     is_default=True)
    ConnectionSettingsVersion.objects.create(connection=connection, version=1, data={}, summary="Initial settings.")
    ConnectionSettingsVersion.objects.create(connection=connection, version=2, data={}, summary="\n".join([
        "activity.mode: tasks → notes", "frequencies.incremental_minutes: 15 → 30", "stage_mapping.won: Closed Won → Signed",
        "mapping description: {...} → null", "flag_conflicts_for_review: false → true"]))
    html = web_as(alice.admin).get(reverse("integrations:settings_history", args=[connection.pk])).content.decode()
    assert "Log activities as: Tasks → Notes" in html
    assert "Incremental sync every (minutes): 15 → 30" in html
    assert "Stage for status “won”: Closed Won → Signed" in html
    assert "Flag conflicts for review: Off → On" in html
    assert "activity.mode" not in html and "frequencies.incremental_minutes" not in html


def test_no_page_of_the_settings_says_seed(web_as, alice):
    from integrations.models import SalesforceConnection
    from integrations.sync_settings import settings_ensure_initial

    connection = SalesforceConnection.objects.create(tenant=alice.tenant, name="Prod", login_url="https://login.salesforce.com",
                                                     is_default=True)
    settings_ensure_initial(connection=connection)
    client = web_as(alice.admin)
    for name in ("integrations:settings", "integrations:settings_history", "integrations:connection"):
        html = client.get(reverse(name, args=[connection.pk])).content.decode().lower()
        assert " seed" not in html and "seed's" not in html, name
