"""Reads and writes of SyncLink (the Salesforce link state of each synced record)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from sync_engine.models import LinkStatus, SyncLink


def values_hash(fields: dict[str, Any]) -> str:
    """Stable hash of the values written, for echo suppression on pull."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def links_for(*, connection_id: int, record_type: str, record_ids: Iterable[int], sobject: str) -> dict[int, SyncLink]:
    qs = SyncLink.objects.filter(connection_id=connection_id, record_type=record_type, record_id__in=list(record_ids), sobject=sobject)
    return {link.record_id: link for link in qs}


def link_success(*, tenant_id: int, connection_id: int, record_type: str, record_id: int, sobject: str, salesforce_id: str,
                 fields: dict[str, Any], matched_by: str = "") -> None:
    now = timezone.now()
    link, created = SyncLink.objects.get_or_create(
        connection_id=connection_id, record_type=record_type, record_id=record_id, sobject=sobject,
        defaults={"tenant_id": tenant_id, "salesforce_id": salesforce_id, "matched_by": matched_by},
    )
    snapshot = dict(link.base_snapshot or {})
    snapshot.update({k: v for k, v in fields.items() if not k.startswith("@")})
    link.salesforce_id = salesforce_id
    if matched_by and not link.matched_by:
        link.matched_by = matched_by
    link.status = LinkStatus.SYNCED
    link.pushed_hash = values_hash(fields)
    link.base_snapshot = snapshot
    link.last_synced_at = now
    link.last_error_code = link.last_error_message = link.last_error_hint = ""
    link.save()


def link_failure(*, tenant_id: int, connection_id: int, record_type: str, record_id: int, sobject: str, error,
                 status: str = LinkStatus.FAILED) -> None:
    link, _ = SyncLink.objects.get_or_create(
        connection_id=connection_id, record_type=record_type, record_id=record_id, sobject=sobject,
        defaults={"tenant_id": tenant_id},
    )
    link.status = status
    link.last_error_code = error.code
    link.last_error_message = error.message[:4000]
    link.last_error_hint = error.hint
    link.save()


def default_links(*, tenant_id: int, record_type: str, record_ids: Iterable[int], sobject: str) -> QuerySet[SyncLink]:
    """The links of the tenant's default connection (what the UI and API show)."""
    return SyncLink.objects.filter(tenant_id=tenant_id, record_type=record_type, record_id__in=list(record_ids),
                                   sobject=sobject, connection__is_default=True).select_related("connection")
