from django.core.management import call_command

from demo.accounts import DEMO_TENANTS
from cothon.models import Membership, Tenant
from opportunities.models import Opportunity


def test_membership_roles_are_ranked(alice):
    assert alice.admin_membership.has_role("member") and alice.admin_membership.has_role("viewer")
    assert alice.member_membership.has_role("member") and not alice.member_membership.has_role("admin")
    assert not alice.viewer_membership.has_role("member")


def test_seed_demo_creates_two_tenants_with_three_roles_and_is_idempotent(db):
    call_command("seed_demo", opportunities=12)
    call_command("seed_demo", opportunities=12)
    assert Tenant.objects.count() == len(DEMO_TENANTS) == 2
    for spec in DEMO_TENANTS:
        tenant = Tenant.objects.get(slug=spec.slug)
        roles = sorted(Membership.objects.filter(tenant=tenant).values_list("role", flat=True))
        assert roles == ["admin", "member", "viewer"]
        assert Opportunity.objects.filter(tenant=tenant).count() == 12
    statuses = set(Opportunity.objects.values_list("status", flat=True))
    assert {"identified", "analyzing", "pursuing"} <= statuses


def test_healthz_reports_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_seed_demo_switches_alerts_on_to_each_tenants_ops_mailbox_and_keeps_an_admins_choice(db):
    from sync_engine.alerts.models import AlertSettings
    from sync_engine.alerts.services import alert_settings_save

    call_command("seed_demo", opportunities=2)
    for spec in DEMO_TENANTS:
        row = AlertSettings.objects.get(tenant__slug=spec.slug)
        assert row.enabled and row.recipients == [f"ops@{spec.slug}.example.com"] and not row.webhook_url
    first = Tenant.objects.get(slug=DEMO_TENANTS[0].slug)
    alert_settings_save(tenant=first, enabled=False, recipients=["me@example.com"], webhook_url="", kinds=[])
    call_command("seed_demo", opportunities=2)
    row = AlertSettings.objects.get(tenant=first)
    assert (row.enabled, row.recipients) == (False, ["me@example.com"])
