"""The contract between the SOQL engine and the emulator's record store.

The engine (parser + evaluator) knows nothing about storage; the store knows nothing about
SOQL. Both sides code against these types only.

Stored values use Salesforce's JSON representation: text/picklist/id/reference as str,
multipicklist as "a;b", date as "YYYY-MM-DD", datetime as "YYYY-MM-DDTHH:MM:SS.000+0000",
int/double/currency/percent as int or float, boolean as bool, and None for null.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class FieldInfo:
    name: str  # canonical API name, e.g. "AccountId"
    # describe type: id, string, textarea, picklist, multipicklist, boolean, int, double,
    # currency, percent, date, datetime, reference, email, phone, url, base64, address
    type: str
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None  # "Account" for AccountId, "Owner" for OwnerId
    filterable: bool = True
    sortable: bool = True
    groupable: bool = True


@dataclass(frozen=True)
class ChildRelationshipInfo:
    relationship_name: str  # e.g. "Opportunities"
    child_object: str  # e.g. "Opportunity"
    field: str  # the child's reference field, e.g. "AccountId"


@dataclass(frozen=True)
class ObjectInfo:
    name: str  # canonical API name, e.g. "Opportunity"
    fields: dict[str, FieldInfo]  # keyed by lower-case API name; only what the caller may read
    child_relationships: dict[str, ChildRelationshipInfo] = field(default_factory=dict)  # lower-case
    queryable: bool = True


class SoqlDataSource(Protocol):
    """What the engine needs from the store, already narrowed to the calling user's access."""

    def object_info(self, name: str) -> ObjectInfo | None:
        """Schema of an object by case-insensitive name, or None when unknown/inaccessible."""

    def records(
        self,
        object_name: str,
        *,
        include_deleted: bool = False,
        equals: dict[str, frozenset[Any]] | None = None,
    ) -> Iterable[dict[str, Any]]:
        """Records of the object (canonical field names -> stored values, always with "Id").

        `equals` is an optional hint (lower-case field name -> acceptable values) that the store
        may use to narrow the scan with an index; the engine re-checks every condition itself.
        Values are as written in the query: text must be matched case-insensitively (Salesforce
        compares text without regard to case).
        Deleted records (IsDeleted true) are returned only with include_deleted.
        """

    def record_by_id(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        """(object name, record) for a 15- or 18-character id, or None."""

    def now(self) -> datetime:
        """The emulator's clock, timezone-aware UTC (test hooks may move it)."""
