"""`GET /query?q=…&columns=true`: the column metadata the sf CLI asks for (`sf data query`).

Shape as Salesforce returns it: {"columnMetadata": [...], "entityName", "groupBy",
"idSelected", "keyPrefix"}; a parent path `Account.Name` is a column `Account` whose
`joinColumns` hold `Name`."""

from __future__ import annotations

from typing import Any

from .soql import parse
from .soql.interface import ObjectInfo

_APEX = {"id": "Id", "reference": "Id", "boolean": "Boolean", "int": "Integer", "double": "Double",
         "currency": "Double", "percent": "Double", "date": "Date", "datetime": "Datetime"}
_NUMBER = {"int", "double", "currency", "percent"}
_TEXT = {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "id", "reference"}


def _column(name: str, info: dict | None, custom: bool) -> dict[str, Any]:
    kind = (info or {}).get("type", "string")
    return {"aggregate": False, "apexType": _APEX.get(kind, "String"), "booleanType": kind == "boolean",
            "columnName": name, "custom": custom, "displayName": name, "foreignKeyName": None,
            "insertable": bool((info or {}).get("createable")), "joinColumns": [], "numberType": kind in _NUMBER,
            "textType": kind in _TEXT, "updatable": bool((info or {}).get("updateable"))}


def column_metadata(soql: str, columns: tuple[str, ...], source, describe_field) -> dict[str, Any]:
    """`describe_field(object, field)` → the describe dict of a field (or None)."""
    query = parse(soql)
    info: ObjectInfo | None = source.object_info(query.from_name)
    entity_name = info.name if info else query.from_name
    metadata: list[dict[str, Any]] = []
    parents: dict[str, dict[str, Any]] = {}
    for dotted in columns:
        parts = dotted.split(".")
        if len(parts) == 1:
            metadata.append(_column(parts[0], describe_field(entity_name, parts[0]), parts[0].endswith("__c")))
            continue
        relation = parts[0]
        parent = parents.get(relation)
        if parent is None:
            parent = _column(relation, None, relation.endswith("__r"))
            parent.update({"apexType": None, "textType": False, "insertable": False, "updatable": False})
            parents[relation] = parent
            metadata.append(parent)
        leaf = parts[-1]
        parent["joinColumns"].append(_column(leaf, None, leaf.endswith("__c")))
    return {"columnMetadata": metadata, "entityName": entity_name,
            "groupBy": bool(query.group_by), "idSelected": any(c.lower() == "id" for c in columns),
            "keyPrefix": None}
