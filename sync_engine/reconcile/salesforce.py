"""The Salesforce side of a reconciliation: what changed in the org within the window, applied
exactly as the pull applies it.

One `queryAll` of the mapped opportunity fields with SystemModstamp ≥ the window's start
(the incremental pull's own field list and query, so deleted records come back with
IsDeleted = true and their link is marked "deleted in Salesforce", never the Cothon record
deleted), and — when the incremental pulls them — the linked Accounts the same way, both
first pages in one composite call. Each page goes through `pull_apply` / `accounts_apply`:
the conflict rules and the review apply as on pull, a record already applied at its
SystemModstamp or equal to what we pushed costs no write. The incremental watermark is not
read nor moved: reconciliation is a second look, not a cycle of the pull."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

from integrations.models import SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.sync_settings import describe_get
from sync_engine.pull.accounts import account_fields, account_object, accounts_apply, accounts_linked, accounts_pulled
from sync_engine.pull.apply import PullSummary, pull_apply
from sync_engine.pull.incremental import composite_pages, modstamp_query, plain_record, select_fields

logger = logging.getLogger(__name__)


@dataclass
class SalesforceSide:
    opportunities: PullSummary = field(default_factory=PullSummary)
    accounts: PullSummary = field(default_factory=PullSummary)
    pages: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def examined(self) -> int:
        return self.opportunities.seen + self.accounts.seen

    @property
    def applied(self) -> int:
        return sum(s.applied + s.created for s in (self.opportunities, self.accounts))

    @property
    def deleted(self) -> int:
        return self.opportunities.deleted + self.accounts.deleted

    @property
    def failed(self) -> int:
        return self.opportunities.failed + self.accounts.failed


def salesforce_reconcile(*, connection: SalesforceConnection, settings: dict[str, Any], client, since: datetime.datetime
                         ) -> SalesforceSide:
    """Read and apply the org's records changed since `since`. `client` is the run's client
    (its calls are counted on the run). Raises SalesforceError when the opportunity query fails."""
    side = SalesforceSide()
    sobject = (settings.get("objects") or {}).get("opportunity", "Opportunity")
    describe = describe_get(connection=connection, sobject=sobject, client=client)
    soql = modstamp_query(sobject, select_fields(settings, describe), since)
    account_sobject = account_object(settings)
    with_accounts = (accounts_pulled(settings) and account_sobject.lower() != sobject.lower()
                     and accounts_linked(connection, settings))
    if with_accounts:
        page, account_page = _first_pages(client, soql, modstamp_query(account_sobject, account_fields(), since), side)
    else:
        page, account_page = client.call(lambda sf: sf.query(soql, include_deleted=True)), None
    side.pages += _apply_all(connection, settings, client, page, side.opportunities, pull_apply)
    if account_page is not None:
        side.pages += _apply_all(connection, settings, client, account_page, side.accounts, accounts_apply)
    return side


def _first_pages(client, soql: str, account_soql: str, side: SalesforceSide) -> tuple[dict, dict | None]:
    """Both first pages in one composite call; the Account query failing never stops the
    opportunities (its reason is kept as a warning)."""
    base = f"/services/data/v{client.api_version}/queryAll/?q="
    answer = client.rest("POST", "composite", json={"allOrNone": False, "compositeRequest": [
        {"method": "GET", "referenceId": "records", "url": base + quote(soql, safe="")},
        {"method": "GET", "referenceId": "accounts", "url": base + quote(account_soql, safe="")}]})
    records, accounts = composite_pages(answer, ("records", "accounts"))
    if isinstance(records, SalesforceError):
        raise records
    if isinstance(accounts, SalesforceError):
        logger.warning("Reconciliation of connection's Accounts skipped: %s", accounts)
        side.warnings.append(f"Accounts not read: {accounts.code}: {accounts.message}")
        return records, None
    return records, accounts


def _apply_all(connection: SalesforceConnection, settings: dict[str, Any], client, page: dict, summary: PullSummary,
               apply: Callable[..., PullSummary]) -> int:
    """Apply every page of a query (queryMore until done). Returns the pages read."""
    pages = 0
    while True:
        records = [plain_record(r) for r in page.get("records", [])]
        if records:
            summary.add(apply(connection=connection, sobject_records=records, settings=settings,
                              client_factory=lambda: client, source="reconciliation"))
        pages += 1
        if page.get("done", True):
            return pages
        next_url = page["nextRecordsUrl"]
        page = client.call(lambda sf: sf.query_more(next_url, identifier_is_url=True, include_deleted=True))
