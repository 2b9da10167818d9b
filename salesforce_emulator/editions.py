"""Salesforce editions: the Organization's OrganizationType and what it allows.

An org's edition comes from its definition (orgdef ``organization: OrganizationType``; none
counts as Developer Edition) and can be changed at run time by the test hook
``POST /_emulator/edition`` (kept in the store's kv table so a restart keeps it;
``/_emulator/reset`` returns to the definition). Workflow rules, outbound messages and flows
are refused in editions that do not have them, with a message naming the edition.
"""

from __future__ import annotations

from typing import Any

from .errors import RequestError

# The values of Organization.OrganizationType (its describe picklist). Suites report the
# edition they run on: Pro Suite -> Professional, Einstein 1 -> Unlimited, Starter Suite ->
# Base Edition (or Essentials on older orgs).
ALL_EDITIONS = ("Developer Edition", "Enterprise Edition", "Unlimited Edition",
                "Professional Edition", "Performance Edition", "Essentials Edition",
                "Base Edition", "Team Edition", "Personal Edition", "Contact Manager Edition",
                "Group Edition", "Free Edition")
# Salesforce Help lists outbound messages and record-triggered flows for Enterprise,
# Performance, Unlimited and Developer editions; Professional has them with the API add-on,
# which the emulator assumes it has.
EDITIONS_WITH_AUTOMATION = ("Professional Edition", "Enterprise Edition", "Unlimited Edition",
                            "Performance Edition", "Developer Edition")
DEFAULT_EDITION = "Developer Edition"
KV_KEY = "editions"


def edition_of(rt: Any) -> str:
    return rt.org.organization.get("OrganizationType") or DEFAULT_EDITION


def automation_error(rt: Any, feature: str) -> RequestError | None:
    """FUNCTIONALITY_NOT_ENABLED when the org's edition lacks `feature` (e.g. "Flows")."""
    edition = edition_of(rt)
    if edition in EDITIONS_WITH_AUTOMATION:
        return None
    return RequestError("FUNCTIONALITY_NOT_ENABLED",
                        f"{feature} are not available in {edition}. They need Professional "
                        "(with API), Enterprise, Unlimited, Performance or Developer Edition "
                        "(Pro Suite and Einstein 1 run on Professional and Unlimited).", [])


# -- run-time changes (test hook) -------------------------------------------------------------
def _apply(rt: Any, edition: str | None, stamp: str | None) -> None:
    """Set the edition in the org definition and, when `stamp` is given, in its stored
    Organization record (what `SELECT OrganizationType FROM Organization` reads)."""
    if edition is None:
        rt.org.organization.pop("OrganizationType", None)
    else:
        rt.org.organization["OrganizationType"] = edition
    if stamp is None:
        return
    found = rt.store.get(rt.org.org_id)
    if found is None:
        return
    data = dict(found[2], OrganizationType=edition, SystemModstamp=stamp)
    with rt.store.write():
        rt.store.update(rt.org.name, "Organization", data, None, None)


def set_edition(rt: Any, edition: str, stamp: str) -> None:
    if edition not in ALL_EDITIONS:
        raise ValueError(f"edition must be one of {', '.join(ALL_EDITIONS)}: {edition!r}")
    defined = getattr(rt, "defined_edition", None)
    _apply(rt, edition, stamp)
    saved = rt.store.kv_get(KV_KEY, {})
    if edition == defined:
        saved.pop(rt.org.name, None)
    else:
        saved[rt.org.name] = edition
    rt.store.kv_set(KV_KEY, saved)


def remember_definition(rt: Any) -> None:
    """At start-up: note the definition's edition, then re-apply a hook-set one."""
    rt.defined_edition = rt.org.organization.get("OrganizationType")
    saved = rt.store.kv_get(KV_KEY, {}).get(rt.org.name)
    if saved is not None:
        _apply(rt, saved, None)  # the stored Organization record already holds it


def forget_change(rt: Any) -> None:
    """Before a reset re-seeds the org: back to the definition's edition."""
    _apply(rt, getattr(rt, "defined_edition", None), None)
    saved = rt.store.kv_get(KV_KEY, {})
    if saved.pop(rt.org.name, None) is not None:
        rt.store.kv_set(KV_KEY, saved)
