"""The Salesforce panel of a record page (web layer): the default connection's link of the
record, and whether the Sync button can be used — and if not, the reason its tooltip gives.
Rendered by templates/sync_engine/_salesforce_panel.html; the Sync button posts to
sync_engine/record_views.py."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from integrations import selectors as integration_selectors
from integrations.models import ConnectionStatus
from sync_engine import links
from sync_engine.conflicts import selectors as conflict_selectors
from sync_engine.conflicts.csv_export import value_text
from sync_engine.models import LinkStatus

NOT_CONNECTED = "Not connected to Salesforce — an admin can connect an org in Settings › Integrations."
NO_DEFAULT = "No default Salesforce org — an admin can choose one in Settings › Integrations."


def opportunity_salesforce_panel(request: HttpRequest, opportunity) -> dict:
    panel = links.opportunity_salesforce_link(tenant=request.tenant, opportunity=opportunity)
    connection = panel["connection"]
    # The manual Sync action is wired by the sync issue under this route name; until it exists
    # the button says why it is off instead of pretending to sync.
    sync_url = _url_if_exists("opportunities:sync", opportunity.pk)
    if connection is None:
        reason = NO_DEFAULT if panel["connection_count"] else NOT_CONNECTED
    elif not request.membership.has_role("member"):
        reason = "Syncing needs the member role; viewers can read the sync state only."
    elif connection.status != ConnectionStatus.CONNECTED:
        state = {
            ConnectionStatus.NEEDS_RECONNECT: "needs to be reconnected",
            ConnectionStatus.DISCONNECTED: "is disconnected",
        }.get(connection.status, "is not connected yet")
        reason = f"The connection “{connection.name}” {state}: an admin can fix it in Settings › Integrations."
    elif not sync_url:
        reason = ("Saved changes are queued for Salesforce automatically. "
                  "A manual Sync is not enabled on this server.")
    else:
        reason = ""
    unmapped_assignee = (opportunity.assignee if connection is not None and opportunity.assignee_id
                         and not integration_selectors.user_has_salesforce_user(tenant=request.tenant, connection=connection,
                                                                                user_id=opportunity.assignee_id) else None)
    link = panel["link"]
    if link is not None and link.status == LinkStatus.SKIPPED and not reason:
        reason = "Skipped in this connection: unskip it to sync it again."
    # Re-link / Skip / Re-create (a partner deleted in Salesforce) and Unskip: members, connected org.
    can_decide = (connection is not None and connection.status == ConnectionStatus.CONNECTED
                  and request.membership.has_role("member"))
    # Its open conflicts (held for review): every role sees them, admins resolve them here.
    conflicts = [{"c": c, "cothon": value_text(c.cothon_value), "salesforce": value_text(c.salesforce_value)}
                 for c in conflict_selectors.conflicts_open_for_record(tenant=request.tenant, record_id=opportunity.pk)]
    return {**panel, "conflicts": conflicts, "sync_url": sync_url, "sync_disabled_reason": reason, "unmapped_assignee": unmapped_assignee,
            "not_connected_message": NO_DEFAULT if panel["connection_count"] else NOT_CONNECTED,
            "can_decide": can_decide,
            "partner_deleted": can_decide and link is not None and link.status == LinkStatus.DELETED_IN_SALESFORCE,
            "skipped": link is not None and link.status == LinkStatus.SKIPPED,
            # Locked by an approval process in Salesforce: its own state, with the approval's fix.
            "locked": link is not None and link.last_error_code == "ENTITY_IS_LOCKED"}


def _url_if_exists(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
