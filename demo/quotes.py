"""The demo org's quote flow (issue 18, the 001 seed), set up at `make run`: quote settings on
Maple's connection to the emulator's demo org, two custom quote fields they fill, and the org's
flow + outbound message, so moving an opportunity to Proposal in the emulator's record viewer
makes a quote appear in Cothon.

Settings an admin already saved are kept (a re-run only sets the org up again)."""

from __future__ import annotations

from integrations.models import SalesforceConnection
from proposals.quote_custom_fields import quote_custom_field_create
from proposals.selectors import quote_custom_field_list
from sync_engine.quotes.automation import automation_apply
from sync_engine.quotes.settings_services import quote_settings_save

DEMO_TRIGGER_STAGE = "Proposal"  # the demo org's stage list (decisions.md); a standard org says "Proposal/Price Quote"
DEMO_BID_MANAGER = "maple-bidmanager"
# (key, label, type, options): the Scoro article's own example (the Salesforce record id) and a drop-down.
DEMO_CUSTOM_FIELDS = (
    ("salesforce_id", "Salesforce opportunity ID", "text", []),
    ("deal_type", "Deal type", "dropdown", ["New Business", "Existing Business", "Services"]),
)
DEMO_MAPPINGS = [{"sf_field": "Id", "target": "custom:salesforce_id"}, {"sf_field": "Type", "target": "custom:deal_type"},
                 {"sf_field": "Description", "target": "notes"}]
DEMO_CONDITIONS = [{"field": "Amount", "operator": ">=", "value": "10000"}]


def seed_quote_settings(*, connection: SalesforceConnection) -> str:
    """Quote settings + automation for the demo connection; a line saying what happened."""
    tenant = connection.tenant
    if not hasattr(connection, "quote_settings"):
        existing = set(quote_custom_field_list(tenant=tenant).values_list("key", flat=True))
        for key, label, field_type, options in DEMO_CUSTOM_FIELDS:
            if key not in existing:
                quote_custom_field_create(tenant=tenant, key=key, label=label, field_type=field_type, options=options)
        owner = tenant.memberships.filter(user__username=DEMO_BID_MANAGER).first()
        admin = tenant.memberships.filter(role="admin").first()
        settings = quote_settings_save(tenant=tenant, connection=connection, actor=admin.user if admin else None, data={
            "opportunity_to_quote": True, "contact_to_person": True, "trigger_stage": DEMO_TRIGGER_STAGE,
            "conditions": DEMO_CONDITIONS, "owner_id": owner.user_id if owner else None, "sync_back": True,
            "field_mappings": DEMO_MAPPINGS})
        outcome = settings.automation
    else:
        outcome = automation_apply(connection=connection)
    if outcome.get("state") == "ok":
        flow = outcome["flow"]
        return (f"quotes from opportunities reaching “{DEMO_TRIGGER_STAGE}” — flow version {flow.get('version_number')} "
                f"({flow['outcome'].replace('_', ' ')}), outbound message {outcome['message']['outcome']}")
    error = outcome.get("error") or {}
    return f"quote automation not set up ({error.get('code', outcome.get('state'))}: {error.get('message', '')})"
