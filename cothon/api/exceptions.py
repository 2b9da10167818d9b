"""Every API error is JSON with a stable shape.

Validation errors: {"errors": {"field": ["message", ...]}, "detail": "Validation failed."}
Other errors:      {"detail": "message", "code": "not_found" | "permission_denied" | ...}
Django ValidationErrors raised by services are translated here, so views stay thin; a body over
DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 with code "request_too_large". Errors Django answers outside
DRF (unknown URL, …) get the same shape from cothon/api/errors.py.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from cothon.api.errors import request_too_large_detail


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": request_too_large_detail(), "code": "request_too_large"},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {"detail": f"Malformed request body: {exc.detail}", "code": "parse_error"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": "Validation failed.", "errors": errors}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"]), "code": getattr(response.data["detail"], "code", "error")}
    return response
