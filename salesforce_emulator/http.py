"""Request context and response helpers shared by every endpoint module."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from .dml import Dml, DmlError
from .errors import RequestError, SfError

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Call:
    """One API call: the request plus who makes it (after authentication)."""

    emu: Any  # runtime.Emulator
    request: Request
    version: str | None = None
    rt: Any = None  # runtime.OrgRuntime
    user: Any = None  # orgdef.User
    session: Any = None
    internal: bool = False  # a composite subrequest
    meta: dict[str, Any] = field(default_factory=dict)
    _raw: str | None = None

    @property
    def profile(self):
        return self.rt.profile_of(self.user)

    def dml(self) -> Dml:
        return Dml(self.rt, self.user)

    def raw_text(self) -> str:
        if self._raw is None:
            data = self.request.get_data(cache=True)
            try:
                self._raw = data.decode("utf-8")
            except UnicodeDecodeError:
                raise RequestError("JSON_PARSER_ERROR", "Invalid UTF-8 in request body") from None
        return self._raw

    def json(self) -> Any:
        text = self.raw_text()
        if not text.strip():
            raise RequestError("JSON_PARSER_ERROR",
                               "No content to map due to end-of-input at [line:1, column:0]")
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            snippet = text[exc.pos:exc.pos + 1] or "<EOF>"
            raise RequestError(
                "JSON_PARSER_ERROR",
                f"Unexpected character ('{snippet}' (code {ord(snippet[0])})): was expecting "
                f"double-quote to start field name or a valid value at [line:{exc.lineno}, "
                f"column:{exc.colno}]") from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise RequestError("JSON_PARSER_ERROR", "Cannot deserialize instance of sobject "
                               "from START_ARRAY value [ or request may be missing a required "
                               "field at [line:1, column:1]")
        return body


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None,
                  text: str | None = None) -> Response:
    body = text if text is not None else json.dumps(data, separators=(",", ":"))
    return Response(body, status=status, content_type=JSON_TYPE, headers=headers)


def error_response(errors: list[SfError] | SfError, status: int | None = None,
                   with_fields: bool = True) -> Response:
    if isinstance(errors, SfError):
        errors = [errors]
    return json_response([e.rest(with_fields) for e in errors],
                         status=status or errors[0].status)


def dml_error_response(exc: DmlError) -> Response:
    status = exc.status
    if exc.errors and exc.errors[0].code in ("NOT_FOUND", "ENTITY_IS_DELETED") and status == 400:
        status = 404
    return json_response([e.rest() for e in exc.errors], status=status)


def render_version(text: str, version: str | None) -> str:
    """Blob URLs and describe URLs are stored with a 'vxx.0' placeholder."""
    return text.replace("/services/data/vxx.0/", f"/services/data/v{version or '59.0'}/")
