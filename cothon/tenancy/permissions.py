"""Role checks for the API. Viewers read; members write records; admins change settings and
read connection details."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsTenantMember(BasePermission):
    message = "You are not a member of any organization."

    def has_permission(self, request, view) -> bool:
        membership = getattr(request._request, "membership", None)
        if not (request.user and request.user.is_authenticated and membership is not None):
            return False
        # Reads need `read_role` (viewer unless the view says otherwise: connection details are
        # admin-only), writes `write_role`.
        reading = request.method in SAFE_METHODS
        required = getattr(view, "read_role", "viewer") if reading else getattr(view, "write_role", "member")
        if not membership.has_role(required):
            self.message = f"Your role ({membership.role}) cannot {'see' if reading else 'change'} this; it needs {required}."
            return False
        return True
