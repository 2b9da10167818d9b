"""Approval-process record locks.

Submitting a record for approval locks it in Salesforce: until the approval is completed or
recalled, an update or delete by a user who is not an administrator fails with
``ENTITY_IS_LOCKED`` (a single-record PATCH answers 400 ``[{"message", "errorCode", "fields"}]``;
collections, composite and Bulk 2.0 report it per record, because every write goes through
``Dml``). Salesforce lets admins ("Modify All Data") and, depending on the process, the
approver edit a locked record; the emulator lets the admin profile through and refuses every
other user, so the integration user is always refused.

The emulator has no approval processes: any record can be submitted, by the test hook
``POST /_emulator/approvals`` {"id", "comment"?} (``DELETE /_emulator/approvals/<id>`` recalls,
``GET`` lists) or by the record viewer's "Submit for Approval" / "Recall" buttons. Locks are kept
in the store's kv table per org (a restart keeps them) and mirrored in memory, because every
update asks; ``/_emulator/reset`` clears them.
"""

from __future__ import annotations

import threading
from typing import Any

from . import clock, ids
from .errors import SfError

KV_KEY = "approval-locks"
LOCKED_MESSAGE = "This record is locked. If you need to edit it, contact your admin"
_LOCK = threading.RLock()  # reentrant: a first write loads the locks under it


def _locks(rt: Any) -> dict[str, dict[str, Any]]:
    """record id → {sobject, submitted_at, submitted_by, comment}; loaded once per org."""
    found = getattr(rt, "_approval_locks", None)
    if found is None:
        with _LOCK:
            found = getattr(rt, "_approval_locks", None)
            if found is None:
                found = dict(rt.store.kv_get(KV_KEY, {}).get(rt.org.name, {}))
                rt._approval_locks = found
    return found


def _save(rt: Any, locks: dict[str, dict[str, Any]]) -> None:
    saved = rt.store.kv_get(KV_KEY, {})
    if locks:
        saved[rt.org.name] = locks
    else:
        saved.pop(rt.org.name, None)
    rt.store.kv_set(KV_KEY, saved)
    rt._approval_locks = dict(locks)


def lock_of(rt: Any, record_id: str) -> dict[str, Any] | None:
    return _locks(rt).get(record_id)


def locked_error(rt: Any, record_id: str, profile_admin: bool) -> SfError | None:
    """ENTITY_IS_LOCKED when the record is in an approval and the writer is not an admin."""
    if profile_admin or record_id not in _locks(rt):
        return None
    return SfError("ENTITY_IS_LOCKED", LOCKED_MESSAGE, [])


def submit(rt: Any, record_id: str, *, user_id: str, comment: str = "") -> dict[str, Any]:
    """Submit a live record of this org for approval: it is locked until recalled."""
    full = ids.normalize(record_id or "")
    found = rt.store.get(full) if full else None
    if found is None or found[0] != rt.org.name or found[3]:
        raise KeyError(record_id)
    if not isinstance(comment, str) or len(comment) > 4000:
        raise ValueError("comment must be text of at most 4000 characters")
    with _LOCK:
        locks = dict(_locks(rt))
        if full in locks:
            raise ValueError(f"{full} is already in an approval process")
        locks[full] = {"sobject": found[1], "submitted_at": clock.sf_datetime(),
                       "submitted_by": user_id, "comment": comment}
        _save(rt, locks)
    return {"id": full, **locks[full]}


def recall(rt: Any, record_id: str) -> bool:
    """Recall the approval request: the record is unlocked. False when it was not locked."""
    full = ids.normalize(record_id or "") or record_id
    with _LOCK:
        locks = dict(_locks(rt))
        if locks.pop(full, None) is None:
            return False
        _save(rt, locks)
    return True


def listing(rt: Any) -> list[dict[str, Any]]:
    return [{"id": rid, **lock} for rid, lock in sorted(_locks(rt).items())]


def forget(rt: Any) -> None:
    """/_emulator/reset: the org's records are re-seeded, so no approval is pending."""
    with _LOCK:
        _save(rt, {})
