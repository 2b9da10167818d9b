"""Role checks for the API. Viewers read; members write records; admins change settings."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsTenantMember(BasePermission):
    message = "You are not a member of any organization."

    def has_permission(self, request, view) -> bool:
        membership = getattr(request._request, "membership", None)
        if not (request.user and request.user.is_authenticated and membership is not None):
            return False
        if request.method in SAFE_METHODS:
            return True
        required = getattr(view, "write_role", "member")
        if not membership.has_role(required):
            self.message = f"Your role ({membership.role}) cannot change this; it needs {required}."
            return False
        return True
