"""The Salesforce panel of a record page and Settings › Integrations."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from sync_engine.fanout import fan_out_pending

pytestmark = pytest.mark.django_db


def _connection(tenant, **fields):
    from integrations.models import SalesforceConnection

    defaults = {
        "name": "Production org",
        "login_url": "https://login.salesforce.com",
        "instance_url": "https://alice.my.salesforce.com",
        "status": "connected",
        "is_default": True,
    }
    defaults.update(fields)
    return SalesforceConnection.objects.create(tenant=tenant, **defaults)


def _link(connection, opportunity, **fields):
    from sync_engine.models import SyncLink

    return SyncLink.objects.create(tenant=connection.tenant, connection=connection, record_type="opportunity",
                                   record_id=opportunity.pk, sobject="Opportunity", **fields)


def _detail(client, opportunity) -> str:
    return client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()


def test_panel_without_connection_explains_and_disables_sync(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    html = _detail(web_as(alice.member), opportunity)
    message = "Not connected to Salesforce — an admin can connect an org in Settings › Integrations"
    assert message in html
    assert 'disabled>' in html.split('id="salesforce-panel"')[1]
    assert f'role="tooltip" id="sync-tip">{message}' in html


def test_panel_shows_the_default_connections_link(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    fan_out_pending()  # the save reached no connection (none yet)
    connection = _connection(alice.tenant)
    _link(connection, opportunity, salesforce_id="006000000000001AAA", status="failed",
          last_synced_at=datetime.datetime(2030, 3, 1, 15, 30, tzinfo=datetime.UTC),
          last_error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION", last_error_message="Amount is required",
          last_error_hint="Fill in the value range.")
    html = _detail(web_as(alice.member), opportunity)
    assert "https://alice.my.salesforce.com/lightning/r/Opportunity/006000000000001AAA/view" in html
    assert "Open in Salesforce" in html
    assert "Mar 1, 2030, 10:30 AM EST" in html  # tenant time zone: America/Toronto
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in html and "Amount is required" in html
    assert "Fill in the value range." in html
    assert 'class="sync-badge sync-badge-red" data-sync-state="failed"' in html and ">Failed<" in html
    assert html.count("Amount is required") == 1  # one error block, not the badge tip and a block twice


def test_panel_ignores_links_of_other_tenants_and_non_default_connections(web_as, alice, bob, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    other = _connection(alice.tenant, name="Sandbox", is_default=False, instance_url="https://sandbox.example")
    _link(other, opportunity, salesforce_id="006SANDBOX0000001")
    bobs = _connection(bob.tenant, instance_url="https://bob.example")
    _link(bobs, opportunity, salesforce_id="006BOB00000000001")
    html = _detail(web_as(alice.member), opportunity)
    assert "006SANDBOX0000001" not in html and "006BOB00000000001" not in html
    assert "No default Salesforce org" in html


def test_panel_with_connection_but_no_link_yet(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    fan_out_pending()  # the save reached no connection (none yet)
    _connection(alice.tenant)
    html = _detail(web_as(alice.viewer), opportunity)
    assert 'data-sync-state="not_synced"' in html and ">Not synced<" in html
    assert "Open in Salesforce" not in html
    assert "viewers can read the sync state only" in html


def test_integrations_page_is_for_admins_only(web_as, alice):
    url = reverse("integrations:index")
    assert web_as(alice.member).get(url).status_code == 403
    assert web_as(alice.viewer).get(url).status_code == 403
    assert web_as(alice.admin).get(url).status_code == 200


def test_integrations_empty_state_explains_connecting(web_as, alice):
    html = web_as(alice.admin).get(reverse("integrations:index")).content.decode()
    assert "No Salesforce org is connected" in html
    assert "How connecting works" in html
    assert "coming" not in html.lower()


def test_integrations_lists_only_this_tenants_connections(web_as, alice, bob):
    _connection(alice.tenant, name="Alice production", api_usage_used=120, api_usage_max=5000)
    _connection(alice.tenant, name="Alice sandbox", is_default=False, environment="sandbox", status="needs_reconnect")
    _connection(bob.tenant, name="Bob production")
    html = web_as(alice.admin).get(reverse("integrations:index")).content.decode()
    assert "Alice production" in html and "Alice sandbox" in html
    assert "Bob production" not in html
    assert "Default" in html
    assert "Needs reconnect" in html
    assert "120 / 5,000 calls" in html


def test_sync_button_for_a_member_of_a_connected_tenant(web_as, alice, opportunity_factory):
    from django.urls import NoReverseMatch

    opportunity = opportunity_factory(alice.tenant)
    _connection(alice.tenant)
    panel = _detail(web_as(alice.member), opportunity).split('id="salesforce-panel"')[1]
    try:
        sync_url = reverse("opportunities:sync", args=[opportunity.pk])
    except NoReverseMatch:
        # No manual sync route on this server: the button says so instead of faking a sync.
        assert "A manual Sync is not enabled on this server." in panel
        assert "disabled>" in panel
    else:
        assert f'action="{sync_url}"' in panel


def test_panel_for_a_connection_that_needs_reconnecting(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    _connection(alice.tenant, status="needs_reconnect")
    html = _detail(web_as(alice.member), opportunity)
    assert "“Production org” needs to be reconnected: an admin can fix it" in html


def test_admins_can_preview_the_sync_of_a_record_and_members_and_viewers_cannot(web_as, alice, opportunity_factory, client):
    """The preview is the dry run, a Settings › Integrations page: admins only."""
    connection = _connection(alice.tenant)
    opportunity = opportunity_factory(alice.tenant)
    preview = f"{reverse('integrations:dry_run', args=[connection.pk])}?opportunity={opportunity.pk}"
    assert preview in _detail(web_as(alice.admin), opportunity)
    for role in ("member", "viewer"):
        client.logout()
        assert "Preview sync" not in _detail(web_as(getattr(alice, role)), opportunity)
