"""Composite: up to 25 subrequests in one call and one transaction, with @{ref.path}
references between them."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import RequestError
from .http import Call, json_response
from .store import Store

MAX_SUBREQUESTS = 25
REF_RE = re.compile(r"@\{([^}]+)\}")
PATH_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
HALTED = "The transaction was rolled back since another operation in the same transaction failed."


class _Unresolved(Exception):
    def __init__(self, expr: str):
        super().__init__(expr)
        self.expr = expr


def _lookup(expr: str, results: dict[str, Any]) -> Any:
    parts = PATH_RE.findall(expr)
    if not parts or parts[0][0] not in results:
        raise _Unresolved(expr)
    value = results[parts[0][0]]
    for name, index in parts[1:]:
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError, ValueError):
            raise _Unresolved(expr) from None
    return value


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = REF_RE.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), results)
        return REF_RE.sub(lambda m: str(_lookup(m.group(1), results)), value)
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    return value


def composite(call: Call):
    from .app import current_app
    body = call.json_object()
    subrequests = body.get("compositeRequest")
    if not isinstance(subrequests, list) or not subrequests:
        raise RequestError("INVALID_FIELD", "compositeRequest must be a non-empty array")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise RequestError("LIMIT_EXCEEDED", f"Composite request cannot contain more than "
                           f"{MAX_SUBREQUESTS} subrequests")
    refs = [s.get("referenceId") for s in subrequests if isinstance(s, dict)]
    if len(refs) != len(subrequests) or any(not r for r in refs) or len(set(refs)) != len(refs):
        raise RequestError("INVALID_FIELD", "Each subrequest needs a unique referenceId")
    all_or_none = bool(body.get("allOrNone", False))
    app = current_app(call.emu)
    results: dict[str, Any] = {}
    responses: list[dict[str, Any]] = []
    failed = False
    try:
        with call.emu.store.write():
            for sub in subrequests:
                ref = sub["referenceId"]
                if failed and all_or_none:
                    responses.append(_halted(ref))
                    continue
                try:
                    url = _substitute(sub.get("url", ""), results)
                    sub_body = _substitute(sub.get("body"), results)
                except _Unresolved as exc:
                    failed = True
                    head = exc.expr.split(".")[0].split("[")[0]
                    responses.append({"body": [{"errorCode": "PROCESSING_HALTED", "message":
                                                f"Invalid reference specified. No value for "
                                                f"{exc.expr} found in {head}. Provided "
                                                f"referenceId ({head}) must be the referenceId "
                                                "of a previous successful subrequest."}],
                                      "httpHeaders": {}, "httpStatusCode": 400,
                                      "referenceId": ref})
                    continue
                response = app.subrequest(call, sub.get("method", "GET"), url, sub_body,
                                          sub.get("httpHeaders"))
                text = response.get_data(as_text=True)
                parsed = json.loads(text) if text and response.mimetype.endswith("json") else None
                headers = {}
                if response.status_code == 201 and isinstance(parsed, dict) and parsed.get("id"):
                    path = url.split("?")[0].rstrip("/")
                    headers["Location"] = f"{path}/{parsed['id']}"
                if response.status_code >= 400:
                    failed = True
                else:
                    results[ref] = parsed
                responses.append({"body": parsed, "httpHeaders": headers,
                                  "httpStatusCode": response.status_code, "referenceId": ref})
            if failed and all_or_none:
                raise Store.Rollback()
    except Store.Rollback:
        for index, item in enumerate(responses):
            if item["httpStatusCode"] < 400:
                responses[index] = _halted(item["referenceId"])
    return json_response({"compositeResponse": responses})


def _halted(ref: str) -> dict[str, Any]:
    return {"body": [{"errorCode": "PROCESSING_HALTED", "message": HALTED}],
            "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref}


def composite_index(call: Call):
    """GET /composite: the composite resources the emulator serves."""
    base = f"/services/data/v{call.version}/composite"
    return json_response({"sobjects": f"{base}/sobjects"})


def register(router) -> None:
    router.add("/services/data/v<version>/composite", ["POST"], composite,
               operation="composite", name="composite")
    router.add("/services/data/v<version>/composite", ["GET"], composite_index,
               operation="read", name="composite_index")
