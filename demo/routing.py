"""The demo's routing rules (docs/routing.md): contract, proposal and custom document routing,
Results Routing with the improveit 360 pickers, and Credit App Sending, on the demo org's
connection, so `make run` routes files (and a failure's backup e-mail lands in the Outbox (demo))
without an admin setting them up first. Saved through the same service as the pages, so they
are checked against the org. Idempotent: a rule an admin already saved is left alone."""

from __future__ import annotations

from integrations.models import SalesforceConnection
from sync_engine.appointments.models import RoutingKind, RoutingRule
from sync_engine.appointments.routing_services import DEFAULT_TEMPLATES, RuleInput, routing_rule_save

# Shown by connect_demo_orgs: the demo's credit applications open with it.
DEMO_CREDIT_APP_PASSWORD = "demo-credit-2026"
DISCLOSURE = ("By signing below, you authorize the company and its financing partners to obtain your credit report and to "
              "verify the information in this application. Your information is used only to decide on this application "
              "and is kept as the law requires.")


def seed_routing_rules(*, connection: SalesforceConnection) -> str:
    admin = connection.tenant.memberships.filter(role="admin").select_related("user").first()
    actor = admin.user if admin else None
    recipients = [actor.email] if actor and actor.email else []
    saved = set(RoutingRule.objects.filter(connection=connection).values_list("kind", flat=True))
    made = []
    for kind in RoutingKind.values:
        if kind in saved:
            continue
        data = RuleInput(enabled=True, file_name_template=DEFAULT_TEMPLATES[RoutingKind(kind)], backup_recipients=recipients)
        if kind == RoutingKind.RESULTS:
            data.note_title = "Appointment results"
            data.object_class = "i360__Appointment__c"
            data.sale_pickers = [{"title": "Lead Result", "options": ["Demo Sold"], "sf_field": "i360__Result__c", "required": True}]
            data.no_sale_pickers = [
                {"title": "Lead Result", "options": ["Demo Not Sold", "Demo Maybe", "No Demo"],
                 "sf_field": "i360__Result__c", "required": True},
                {"title": "Result Reason", "options": ["Appointment Cancelled", "Too Expensive", "Getting Other Estimates",
                                                       "Needs Spouse", "Not Interested", "Financing Declined"],
                 "sf_field": "i360__Result_Reason__c", "required": False},
            ]
        if kind == RoutingKind.CREDIT_APP:
            data.disclosure = DISCLOSURE
            data.new_password = DEMO_CREDIT_APP_PASSWORD
        routing_rule_save(tenant=connection.tenant, connection=connection, kind=kind, data=data, actor=actor)
        made.append(RoutingKind(kind).label.lower())
    if not made:
        return "routing rules already set up."
    return f"routing rules on ({', '.join(made)}); credit application PDFs open with “{DEMO_CREDIT_APP_PASSWORD}”."
