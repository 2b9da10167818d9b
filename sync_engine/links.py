"""Reads and writes of SyncLink (the Salesforce link state of each synced record).

The one owner of link state: other apps read a record's Salesforce id and status through the
selectors at the end of this module."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from cothon.bulk import ids_in
from integrations import selectors as integration_selectors
from integrations.mapping.opportunity_inbound import id18
from integrations.sync_settings import sync_settings_for
from opportunities.models import Opportunity
from sync_engine.models import HeldLink, LinkStatus, MatchedBy, SyncLink
from sync_engine.rows import insert_rows
from sync_engine.vocabulary import RecordType


# What json.dumps(fields, sort_keys=True, default=str) builds on every call, built once: a full
# sync hashes every record it writes.
_HASH_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def values_hash(fields: dict[str, Any]) -> str:
    """Stable hash of the values written, for echo suppression on pull."""
    return hashlib.sha256(_HASH_ENCODER.encode(fields).encode()).hexdigest()


def links_for(*, connection_id: int, record_type: str, record_ids: Iterable[int], sobject: str) -> dict[int, SyncLink]:
    qs = SyncLink.objects.filter(ids_in("record_id", record_ids), connection_id=connection_id, record_type=record_type, sobject=sobject)
    return {link.record_id: link for link in qs}


def linked_salesforce_ids(*, connection_id: int, record_type: str, record_ids: Iterable[int], sobject: str) -> dict[int, str]:
    """{record id: Salesforce id} of the records linked in this object (a linked record without
    an id yet is absent). Two columns, not whole links: the push asks this for every batch."""
    return dict(SyncLink.objects.filter(ids_in("record_id", record_ids), connection_id=connection_id, record_type=record_type,
                                        sobject=sobject).exclude(salesforce_id="").values_list("record_id", "salesforce_id"))


_LINK_COLUMNS = ("tenant_id", "connection_id", "record_type", "record_id", "sobject", "salesforce_id", "matched_by", "status",
                 "pushed_hash", "base_snapshot", "last_synced_at", "last_error_code", "last_error_message", "last_error_hint",
                 "created_at", "updated_at")
# The write in flight (sync_engine/attempts.py) is cleared with the result: the columns are left
# out of the INSERT, so the proposed row (EXCLUDED) carries their empty defaults.
_LINK_UPDATE_FIELDS = ("salesforce_id", "matched_by", "status", "pushed_hash", "base_snapshot", "last_synced_at",
                       "last_error_code", "last_error_message", "last_error_hint", "updated_at",
                       "inflight_values", "inflight_token", "inflight_at")


def links_record_results(*, tenant_id: int, connection_id: int, sobject: str, successes: list[tuple], failures: list[tuple]) -> None:
    """Write the outcome of a batch on its links in two queries (read + upsert). Either outcome
    clears the link's write in flight: the result is known.

    successes: (record_type, record_id, salesforce_id, fields, matched_by)
    failures:  (record_type, record_id, error, status)
    """
    keys = {(r[0], r[1]) for r in successes} | {(r[0], r[1]) for r in failures}
    if not keys:
        return
    # Only the columns the new row takes from the old one (not whole instances: a full sync
    # reads thousands of links here).
    existing = {(row[0], row[1]): row for row in SyncLink.objects.filter(
        ids_in("record_id", {k[1] for k in keys}), connection_id=connection_id, sobject=sobject,
        record_type__in={k[0] for k in keys},
    ).values_list("record_type", "record_id", "salesforce_id", "matched_by", "pushed_hash", "base_snapshot", "last_synced_at")}
    now = timezone.now()
    rows: dict[tuple, tuple] = {}
    for record_type, record_id, salesforce_id, fields, matched_by in successes:
        old = existing.get((record_type, record_id))
        snapshot = dict(old[5] or {}) if old else {}
        snapshot.update({k: v for k, v in fields.items() if not k.startswith("@")})
        rows[(record_type, record_id)] = (
            tenant_id, connection_id, record_type, record_id, sobject, salesforce_id, (old[3] if old and old[3] else matched_by),
            LinkStatus.SYNCED.value, values_hash(fields), snapshot, now, "", "", "", now, now)
    for record_type, record_id, error, status in failures:
        old = existing.get((record_type, record_id))
        rows[(record_type, record_id)] = (
            tenant_id, connection_id, record_type, record_id, sobject, old[2] if old else "", old[3] if old else "", str(status),
            old[4] if old else "", old[5] if old else {}, old[6] if old else None, error.code, error.message[:4000], error.hint,
            now, now)
    # One statement a thousand rows; concurrent workers writing the same link converge instead of colliding.
    insert_rows(SyncLink, _LINK_COLUMNS, list(rows.values()), conflict=("connection_id", "record_type", "record_id", "sobject"),
                update=_LINK_UPDATE_FIELDS)


def link_of_salesforce_id(*, connection_id: int, sobject: str, salesforce_id: str) -> SyncLink | None:
    """The link of the connection that holds this Salesforce record (15- or 18-character id), if any."""
    return (SyncLink.objects.filter(connection_id=connection_id, sobject=sobject)
            .filter(salesforce_id__in={salesforce_id, salesforce_id[:15]}).order_by("id").first())


def link_by_review(*, tenant_id: int, connection_id: int, record_type: str, record_id: int, sobject: str,
                   salesforce_id: str) -> SyncLink:
    """Link a record to an existing Salesforce record a person chose (Match Legacy Records).
    Waiting to sync until the push that follows writes to it by Id; a failed first push's
    link is taken over (its error cleared)."""
    link, _ = SyncLink.objects.update_or_create(
        connection_id=connection_id, record_type=record_type, record_id=record_id, sobject=sobject,
        defaults={"tenant_id": tenant_id, "salesforce_id": salesforce_id, "matched_by": MatchedBy.LEGACY_REVIEW,
                  "status": LinkStatus.PENDING, "pushed_hash": "", "base_snapshot": {}, "last_error_code": "",
                  "last_error_message": "", "last_error_hint": ""})
    return link


# --- the Salesforce state of a record, as the record pages and the API show it ---------------
# sync_engine owns link state: pages, serializers and other layers read it through these, never
# SyncLink directly. Each shows the tenant's default connection's link (decisions.md).

def opportunity_salesforce_link(*, tenant, opportunity) -> dict[str, Any]:
    """What the record page's Salesforce panel shows: the default connection, how many
    connections the tenant has, and this opportunity's SyncLink in the default connection
    (None when it was never pushed)."""
    connection = integration_selectors.salesforce_default_connection(tenant=tenant)
    link = None
    if connection is not None:
        link = (
            SyncLink.objects.filter(
                tenant=tenant, connection=connection, record_type=RecordType.OPPORTUNITY,
                record_id=opportunity.pk,
                sobject=integration_selectors.configured_sobject(connection=connection, record_type=RecordType.OPPORTUNITY),
            )
            .select_related("connection")
            .first()
        )
    return {
        "connection": connection,
        "connection_count": (integration_selectors.salesforce_connection_list(tenant=tenant).count()
                             if connection is None else None),
        "link": link,
    }


def opportunity_salesforce_links(*, tenant, opportunity_ids: list[int]) -> dict[int, SyncLink]:
    """SyncLinks of these opportunities in the tenant's default connection, by opportunity id."""
    return salesforce_links(tenant=tenant, record_type=RecordType.OPPORTUNITY, record_ids=opportunity_ids)


def connection_links(*, tenant, connection, record_type: str, record_ids: Iterable[int]) -> list[SyncLink]:
    """Every SyncLink of these records in this connection (all objects), oldest first, with the
    connection attached: one query for both a record's `salesforce` link and its sync state."""
    links = list(SyncLink.objects.filter(tenant=tenant, connection=connection, record_type=record_type,
                                         record_id__in=list(record_ids)).select_related("skipped_by").order_by("id"))
    for link in links:
        link.connection = connection
    return links


def salesforce_links(*, tenant, record_type: str, record_ids: Iterable[int], sobject: str | None = None) -> dict[int, SyncLink]:
    """SyncLinks of these records in the tenant's default connection, by record id.

    One query whatever the number of ids, so a page of records costs one extra query.
    Records without a link (or with no default connection) are simply absent. Without
    `sobject`, the record type's one link is meant (quotes, appointments: one object each).
    """
    record_ids = list(record_ids)
    if not record_ids:
        return {}
    links = SyncLink.objects.filter(
        tenant=tenant, connection__tenant=tenant, connection__is_default=True,
        record_type=record_type, record_id__in=record_ids,
    ).select_related("connection").order_by("id")
    if sobject is None:
        # The object the default connection's settings name for the record type (a custom
        # opportunity object, say), so a link left on a previously configured object is not shown.
        connection = integration_selectors.salesforce_default_connection(tenant=tenant)
        configured = (integration_selectors.configured_sobject(connection=connection, record_type=record_type)
                      if connection is not None else "")
        sobject = configured or None
    if sobject is not None:
        links = links.filter(sobject=sobject)
    return {link.record_id: link for link in links}


# Which settings key names the Salesforce object of a record type linked by id only (no push
# handler yet), and the object used when the settings do not name one.
LINKED_OBJECTS = {RecordType.QUOTE: ("opportunity", "Opportunity"),
                  RecordType.APPOINTMENT: ("appointment", "i360__Appointment__c")}


def salesforce_ids(*, tenant, record_type: str, record_ids: Iterable[int]) -> dict[int, str]:
    """The Salesforce id of each of these records (quotes, appointments) in the tenant's default
    connection, by record id — or the id held for it while the tenant has no default
    connection (HeldLink). Records with neither are absent. Two queries at most."""
    record_ids = list(record_ids)
    if not record_ids:
        return {}
    ids = {record_id: link.salesforce_id
           for record_id, link in salesforce_links(tenant=tenant, record_type=record_type, record_ids=record_ids).items()
           if link.salesforce_id}
    missing = [record_id for record_id in record_ids if record_id not in ids]
    if missing:
        held = HeldLink.objects.filter(tenant=tenant, record_type=record_type, record_id__in=missing).order_by("id")
        for row in held:
            ids.setdefault(row.record_id, row.salesforce_id)
    return ids


def quote_salesforce_partner(*, tenant, quote) -> SyncLink | None:
    """The Salesforce opportunity a quote belongs to, as a link with its connection: the quote's
    own link (it came from that opportunity) — the default connection's first, else another
    connection's — or else the link of the Cothon opportunity the quote is for, in the default
    connection. None when neither exists (or has no Salesforce id yet)."""
    own = list(SyncLink.objects.filter(tenant=tenant, connection__tenant=tenant, record_type=RecordType.QUOTE, record_id=quote.pk)
               .exclude(salesforce_id="").select_related("connection").order_by("-connection__is_default", "id")[:1])
    if own:
        return own[0]
    if quote.opportunity_id is None:
        return None
    link = opportunity_salesforce_links(tenant=tenant, opportunity_ids=[quote.opportunity_id]).get(quote.opportunity_id)
    return link if link is not None and link.salesforce_id else None


def held_links_adopt(*, connection) -> int:
    """Turn the tenant's held Salesforce ids (kept while it had no default connection) into links
    of its default connection, in the object its settings name. Returns how many were adopted.
    A record already linked in that connection keeps its link; the held row goes either way."""
    if not connection.is_default:
        return 0
    held = list(HeldLink.objects.filter(tenant_id=connection.tenant_id))
    if not held:
        return 0
    objects = sync_settings_for(connection=connection).objects
    now = timezone.now()
    adopted = 0
    for row in held:
        key, default = LINKED_OBJECTS.get(row.record_type, ("", row.sobject))
        _, created = SyncLink.objects.get_or_create(
            connection=connection, record_type=row.record_type, record_id=row.record_id,
            sobject=getattr(objects, key, "") or default,
            defaults={"tenant_id": connection.tenant_id, "salesforce_id": row.salesforce_id,
                      "status": LinkStatus.SYNCED, "last_synced_at": now})
        adopted += created
    HeldLink.objects.filter(pk__in=[row.pk for row in held]).delete()
    return adopted


# --- what a person decides for a record (re-link, skip, re-create) -----------------------------
# Written by the services of sync_engine/partner_actions.py; the push and the pull ask
# `skipped_records` / `drop_skipped_records` so a skipped record is neither sent nor applied.

def link_relink(*, connection, record_type: str, record_id: int, sobject: str, salesforce_id: str) -> SyncLink:
    """Point the record's link at another Salesforce record. What the old link knew of the
    other side (hash, base snapshot, stamp, error) belonged to the old record: cleared."""
    now = timezone.now()
    link, _ = SyncLink.objects.update_or_create(
        connection=connection, record_type=record_type, record_id=record_id, sobject=sobject,
        defaults={"tenant_id": connection.tenant_id, "salesforce_id": salesforce_id, "matched_by": "relinked",
                  "status": LinkStatus.PENDING, "pushed_hash": "", "base_snapshot": {}, "salesforce_modstamp": None,
                  "inflight_values": None, "inflight_token": "", "inflight_at": None,
                  "last_synced_at": None, "last_error_code": "", "last_error_message": "", "last_error_hint": "",
                  "skipped_by": None, "skipped_at": None, "status_before_skip": "", "updated_at": now})
    return link


def link_forget_partner(*, link: SyncLink) -> SyncLink:
    """Re-create: drop the dead Salesforce id so the next push creates (upserts) a new record,
    which the push then links."""
    link.salesforce_id, link.status, link.matched_by = "", LinkStatus.PENDING, ""
    link.pushed_hash, link.base_snapshot, link.salesforce_modstamp, link.last_synced_at = "", {}, None, None
    link.inflight_values, link.inflight_token, link.inflight_at = None, "", None
    link.last_error_code = link.last_error_message = link.last_error_hint = ""
    link.save()
    return link


def link_skip(*, connection, record_type: str, record_id: int, sobject: str, actor) -> SyncLink:
    """Mark the record skipped in this connection (a link without a Salesforce id when it had
    none), keeping the status it had for Unskip."""
    link, created = SyncLink.objects.get_or_create(
        connection=connection, record_type=record_type, record_id=record_id, sobject=sobject,
        defaults={"tenant_id": connection.tenant_id, "status": LinkStatus.SKIPPED, "status_before_skip": ""})
    if not created and link.status != LinkStatus.SKIPPED:
        link.status_before_skip, link.status = link.status, LinkStatus.SKIPPED
    link.skipped_by, link.skipped_at = actor, timezone.now()
    link.save()
    return link


def link_unskip(*, link: SyncLink) -> SyncLink | None:
    """Give the link back the status it had before the skip; a link that only existed for the
    skip (no Salesforce id, no status before) is removed. Returns the link left, if any."""
    if not link.salesforce_id and not link.status_before_skip:
        link.delete()
        return None
    link.status = link.status_before_skip or LinkStatus.PENDING
    link.status_before_skip, link.skipped_by, link.skipped_at = "", None, None
    link.save()
    return link


def opportunities_without_partner(*, connection_id: int, record_ids: Iterable[int], sobject: str) -> dict[int, SyncLink]:
    """Of these opportunities, those whose link in the connection is skipped or deleted in
    Salesforce: their children (analyses, requirements, Tasks, notes, files) have no parent to
    go to. One query (skipped_by loaded for the log)."""
    ids = list(record_ids)
    if not ids:
        return {}
    rows = SyncLink.objects.filter(connection_id=connection_id, record_type=RecordType.OPPORTUNITY, sobject=sobject,
                                   record_id__in=ids, status__in=[LinkStatus.SKIPPED, LinkStatus.DELETED_IN_SALESFORCE]
                                   ).select_related("skipped_by")
    return {link.record_id: link for link in rows}


def links_forget_children(*, connection_id: int, record_type: str, record_ids: Iterable[int]) -> int:
    """Forget the Salesforce ids of an opportunity's children (analyses, requirements) when the
    opportunity gets another partner (re-linked, re-created): the old ones hung under the old
    parent, so they are sent again as new (upserted by their key). Returns how many."""
    return SyncLink.objects.filter(connection_id=connection_id, record_type=record_type, record_id__in=list(record_ids)).update(
        salesforce_id="", status=LinkStatus.PENDING, pushed_hash="", base_snapshot={}, salesforce_modstamp=None,
        updated_at=timezone.now())


def skipped_records(*, connection_id: int, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], SyncLink]:
    """Which of these (record type, record id) are skipped in the connection, with their link
    (skipped_by loaded). One query."""
    keys = set(keys)
    if not keys:
        return {}
    rows = SyncLink.objects.filter(ids_in("record_id", {k[1] for k in keys}), connection_id=connection_id, status=LinkStatus.SKIPPED,
                                   record_type__in={k[0] for k in keys}
                                   ).select_related("skipped_by")
    return {(link.record_type, link.record_id): link for link in rows if (link.record_type, link.record_id) in keys}


def drop_skipped_records(*, connection, sobject: str, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The pulled records minus those of skipped opportunities (by their Salesforce id, or by
    the reference of a skipped opportunity that has none): (kept, how many dropped). One query
    when nothing is skipped in the connection, three at most."""
    skipped = list(SyncLink.objects.filter(connection=connection, record_type=RecordType.OPPORTUNITY, sobject=sobject,
                                           status=LinkStatus.SKIPPED).values_list("record_id", "salesforce_id"))
    if not skipped or not records:
        return records, 0
    ids = {id18(sf_id) for _pk, sf_id in skipped if sf_id}
    references = set(Opportunity.objects.filter(tenant_id=connection.tenant_id, pk__in=[pk for pk, _ in skipped])
                     .exclude(reference="").values_list("reference", flat=True))
    kept = [r for r in records if id18(r.get("Id")) not in ids and (r.get("Cothon_Ref__c") or "").strip() not in references]
    return kept, len(records) - len(kept)
