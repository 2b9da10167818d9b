"""A push's write to a linked record, recorded before it is sent (issue 17).

The push records a write's result on the link (base snapshot, pushed hash) once Salesforce has
answered. A worker killed between Salesforce taking the write and that record leaves the base
behind Salesforce: a later Salesforce edit of a field that write set then looks like a change on
both sides — held for review although there is no conflict, or overwritten by "Cothon wins".

So before the call the push marks each linked record it is about to write (one UPDATE a batch):
the values sent (`SyncLink.inflight_values`) and, when the org has the field, a token the write
carries in `Cothon_Push_Token__c` (the same for the batch). The recorded result clears the mark
(the push's link upsert, no extra statement). A mark still set when the record is next read —
by the push's conflict guard or by the pull — is settled against what Salesforce holds:

- the token is there: the write landed; every field it sent joins the base, and a field
  Salesforce holds otherwise was changed there since: a one-sided Salesforce change;
- another token: it did not land (or not yet: it may still be in flight): the mark stays;
- no token to compare: the fields Salesforce holds exactly the sent value of join the base (both
  sides hold it either way); the rest keep the base they had. In an org without the field the
  mark is then done with (a field changed again in Salesforce is a change on both sides, as
  before the mark existed); a read that does not carry the token although the write did (an
  Outbound Message, the daily validation's read, the guard's partial record) leaves the mark
  for one that does."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from integrations.mapping.opportunity_inbound import comparable
from sync_engine.links import values_hash
from sync_engine.models import SyncLink
from sync_engine.rows import update_rows

PUSH_TOKEN_FIELD = "Cothon_Push_Token__c"
# The link columns a settled mark changes.
SETTLED_FIELDS = ["base_snapshot", "pushed_hash", "inflight_values", "inflight_token", "inflight_at"]
LINK_COLUMNS = ("id", "record_id", "base_snapshot", "pushed_hash", "inflight_values", "inflight_token")


def push_token_field(describe_fields: dict[str, dict] | None) -> str:
    """The token field's name when the org has it ("" otherwise): `describe_fields` is
    {lower-case name: describe field}."""
    found = (describe_fields or {}).get(PUSH_TOKEN_FIELD.lower())
    return found.get("name", PUSH_TOKEN_FIELD) if found else ""


def new_token() -> str:
    return secrets.token_hex(8)


def attempts_mark(*, links: dict[int, SyncLink], items: Iterable[Any], token: str) -> int:
    """Record on each item's link (record id → link, loaded with LINK_COLUMNS) the values about
    to be sent and the token, in one statement; committed before the call (the push runs in
    autocommit). Items without a Salesforce id or already refused are not sent: not marked.
    Returns how many links were marked."""
    now = timezone.now()
    marked = []
    for item in items:
        link = links.get(item.record_id)
        if link is None or not item.salesforce_id or item.error is not None:
            continue
        link.inflight_values = {k: v for k, v in item.fields.items() if not k.startswith("@")}
        link.inflight_token, link.inflight_at = token, now
        marked.append(link)
    update_rows(SyncLink, marked, ["inflight_values", "inflight_token", "inflight_at"])
    return len(marked)


def attempt_settle(link: SyncLink, record: dict[str, Any]) -> bool:
    """Settle the link's mark against the Salesforce record just read (see the module's
    docstring), in memory; True when the link changed (the caller saves SETTLED_FIELDS)."""
    sent = link.inflight_values
    if sent is None:
        return False
    if link.inflight_token and PUSH_TOKEN_FIELD in record:
        if record[PUSH_TOKEN_FIELD] != link.inflight_token:
            return False  # not landed, or still on its way: the mark stays for a later read
        link.base_snapshot = {**(link.base_snapshot or {}), **sent}
        link.pushed_hash = values_hash(sent)  # as the recorded result would have set it
        link.inflight_values, link.inflight_token, link.inflight_at = None, "", None
        return True
    agreed = {name: value for name, value in sent.items()
              if name in record and comparable(name, record[name]) == comparable(name, value)}
    base = link.base_snapshot or {}
    changed = any(name not in base or comparable(name, base[name]) != comparable(name, value) for name, value in agreed.items())
    if changed:
        link.base_snapshot = {**base, **agreed}
    if link.inflight_token:
        # The write carried a token this read does not (an Outbound Message, the validation's
        # read, the guard's partial record): the mark waits for a read that does.
        return changed
    if len(agreed) == len(sent):
        link.pushed_hash = values_hash(sent)
    link.inflight_values, link.inflight_token, link.inflight_at = None, "", None
    return True


def attempts_settle(pairs: Iterable[tuple[SyncLink, dict[str, Any]]]) -> list[SyncLink]:
    """Settle the marks of these links, each against its Salesforce record just read, and save
    the links that changed in one statement (none when nothing was marked). Returns them."""
    changed = [link for link, record in pairs if link.inflight_values is not None and attempt_settle(link, record)]
    update_rows(SyncLink, changed, SETTLED_FIELDS)
    return changed
