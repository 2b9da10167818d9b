"""query / queryAll with Salesforce's 2,000-row pages and query locators."""

from __future__ import annotations

import json
from typing import Any

from .errors import RequestError, not_found
from .http import Call, json_response, render_version
from .runtime import StoreDataSource

PAGE = 2000


def _page(call: Call, records: list[dict[str, Any]], total: int, offset: int,
          locator: str | None) -> Any:
    chunk = records[offset:offset + PAGE]
    done = offset + PAGE >= len(records)
    body: dict[str, Any] = {"totalSize": total, "done": done}
    if not done:
        if locator is None:
            locator = call.emu.save_cursor(records, total, call.rt.org.name)
        body["nextRecordsUrl"] = (f"/services/data/v{call.version}/query/{locator}-"
                                  f"{offset + PAGE}")
    body["records"] = chunk
    return json_response(None, text=render_version(json.dumps(body, separators=(",", ":")), call.version))


def _execute(call: Call, include_deleted: bool):
    soql = call.request.args.get("q")
    if not soql:
        raise RequestError("MALFORMED_QUERY", "A query string has to be specified")
    try:
        from .soql import SoqlError, execute
    except ImportError:
        raise RequestError("UNKNOWN_EXCEPTION", "The SOQL engine is not installed", status=500) \
            from None
    source = StoreDataSource(call.rt, call.profile)
    try:
        result = execute(soql, source, api_version=call.version or "59.0",
                         include_deleted=include_deleted)
    except SoqlError as exc:
        return json_response([{"message": exc.message, "errorCode": exc.error_code}], 400)
    if call.request.args.get("columns") == "true":
        from .query_columns import column_metadata

        def describe_field(obj: str, name: str):
            info = source.object_info(obj)
            found = info.fields.get(name.lower()) if info else None
            return {"type": found.type, "createable": found.type not in ("id",), "updateable": found.type not in ("id",)} if found else None

        body = column_metadata(soql, result.columns, source, describe_field)
        return json_response(body)
    records = list(result.records)
    return _page(call, records, result.total_size, 0, None)


def query(call: Call):
    return _execute(call, False)


def query_all(call: Call):
    return _execute(call, True)


def more(call: Call, locator: str):
    cursor_id, _, offset_text = locator.rpartition("-")
    if not cursor_id or not offset_text.isdigit():
        raise RequestError("INVALID_QUERY_LOCATOR", "invalid query locator")
    found = call.emu.cursor(cursor_id)
    if found is None or found[2] != call.rt.org.name:
        raise RequestError("INVALID_QUERY_LOCATOR", "invalid query locator")
    records, total, _org = found
    offset = int(offset_text)
    if offset >= len(records):
        raise not_found()
    return _page(call, records, total, offset, cursor_id)


def register(router) -> None:
    v = "/services/data/v<version>"
    router.add(f"{v}/query", ["GET"], query, operation="query", name="query")
    router.add(f"{v}/queryAll", ["GET"], query_all, operation="query", name="queryAll")
    router.add(f"{v}/query/<locator>", ["GET"], more, operation="query", name="query_more")
    router.add(f"{v}/queryAll/<locator>", ["GET"], more, operation="query",
               name="queryAll_more")
