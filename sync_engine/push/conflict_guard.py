"""The conflict rules on push: before an edit made in Cothon updates a linked record, the fields
whose rule could let Salesforce's value win are read from Salesforce (one query a batch, only
then), and a field Salesforce changed since the base — a change the pull has not brought in yet —
is not sent. The pull then meets the conflict and settles it by the rule (or holds it).

Which fields are read: those whose rule is "Salesforce wins"; with "flag conflicts for review"
on, every field whose rule is not "Cothon wins". "Last write wins" fields are not read: an edit
being pushed is the latest write the push knows of (a Salesforce edit made after it and before
the push ran — a queued push, a paused connection — is overwritten; the pull's rule does not
see it). A retried row is the exception: its first attempt may have landed and been followed by
a Salesforce edit, which the retry must not overwrite, so it reads every field not "Cothon wins". "Cothon wins" fields go out as they are. A whole-record push (created, Sync Now, a
scheduled run) is not guarded: it sends what Cothon holds, as before."""

from __future__ import annotations

from typing import Any

from integrations.mapping.opportunity_inbound import id18, normalize
from integrations.salesforce.soql import soql_quote
from sync_engine.models import SyncLink
from sync_engine.push.context import PushContext
from sync_engine.push.writer import Item
from sync_engine.vocabulary import RecordType

CHUNK = 200


def guarded_fields(ctx: PushContext, fields: dict[str, Any], *, retry: bool = False) -> list[str]:
    """The fields of a partial update to check against Salesforce before sending. `retry`: an
    earlier attempt of this change may have landed (a dropped answer, a worker that died before
    settling it), so a Salesforce edit made since is not "older than the edit being pushed":
    every field not "Cothon wins" is checked, as with review on."""
    settings = ctx.settings
    review = settings.flag_conflicts_for_review
    out = []
    for name in fields:
        rule = settings.conflict_rule(name)
        if rule == "salesforce_wins" or ((review or retry) and rule != "cothon_wins"):
            out.append(name)
    return out


def drop_changed_in_salesforce(ctx: PushContext, sobject: str, items: list[Item], *, guarded: dict[int, list[str]]) -> dict[int, list[str]]:
    """Remove from each item the guarded fields Salesforce changed since the link's base to a
    value other than the one being sent. Returns record id → the fields held back."""
    wanted = [item for item in items if item.salesforce_id and guarded.get(item.record_id)]
    if not wanted:
        return {}
    bases = dict(SyncLink.objects.filter(connection_id=ctx.connection.pk, record_type=RecordType.OPPORTUNITY, sobject=sobject,
                                         record_id__in=[i.record_id for i in wanted]).values_list("record_id", "base_snapshot"))
    names = sorted({n for item in wanted for n in guarded[item.record_id]})
    current: dict[str, dict] = {}
    for start in range(0, len(wanted), CHUNK):
        ids = ", ".join(soql_quote(i.salesforce_id) for i in wanted[start:start + CHUNK])
        for row in ctx.client.query_all_iter(f"SELECT Id, {', '.join(names)} FROM {sobject} WHERE Id IN ({ids})"):
            current[id18(row["Id"])] = row
    held: dict[int, list[str]] = {}
    for item in wanted:
        row, base = current.get(id18(item.salesforce_id)), bases.get(item.record_id) or {}
        if row is None:
            continue  # gone from Salesforce: the write says so
        for name in guarded[item.record_id]:
            if name not in base or name not in row:
                continue
            theirs, agreed, ours = _comparable(name, row[name]), _comparable(name, base[name]), _comparable(name, item.fields.get(name))
            if theirs != agreed and theirs != ours:
                item.fields.pop(name, None)
                held.setdefault(item.record_id, []).append(name)
    return held


def _comparable(name: str, value: Any) -> Any:
    value = normalize(value)
    return (id18(value) or None) if name in ("OwnerId", "AccountId") and value else value
