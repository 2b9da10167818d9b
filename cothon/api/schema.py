"""The OpenAPI schema documents the errors every operation can answer, in their real shape
(cothon/api/exceptions.py), so a client and the schemathesis test can rely on it."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

ERROR_SCHEMA = {
    "type": "object",
    "description": "Any error but invalid fields.",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "code": {"type": "string", "description": "Stable machine code: not_found, permission_denied, "
                                                   "not_authenticated, parse_error, request_too_large, …"},
    },
    "required": ["detail", "code"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Invalid fields (or query parameters): every failing one at once.",
    "properties": {
        "detail": {"type": "string", "description": "Always “Validation failed.”"},
        "errors": {
            "type": "object",
            "description": "Messages by field name; `non_field_errors` for the rest. A nested field "
                           "(a proposal's sections) has its messages by position.",
            "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]},
        },
    },
    "required": ["detail", "errors"],
}
DESCRIPTIONS = {
    "400": "Invalid fields or query parameters (`errors`), or a malformed JSON body (`code: parse_error`).",
    "401": "No valid token.",
    "403": "Your role may not do this.",
    "404": "No such record in your organization (or a page past the end).",
    "413": "The body is larger than the upload limit (`code: request_too_large`).",
    "503": "This feature is not available on this server (`code: service_unavailable`).",
}


class CothonAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        error = self._component("Error", ERROR_SCHEMA)
        validation = self._component("ValidationError", VALIDATION_ERROR_SCHEMA)
        shapes = {"400": {"oneOf": [validation, error]}, "401": error, "403": error, "404": error, "413": error,
                  "503": error}
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(shapes[code], code, direction=direction)
                responses[code]["description"] = DESCRIPTIONS[code]
        return responses

    def _error_codes(self) -> list[str]:
        codes = ["401", "403"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["400", "413"]
        elif self._is_list_view() or self.method == "DELETE":
            codes.append("400")  # a bad filter; a deletion the rules refuse
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        codes += getattr(self.view, "error_statuses", {}).get(getattr(self.view, "action", None), [])
        return codes

    def _component(self, name: str, schema: dict) -> dict:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        return component.ref
