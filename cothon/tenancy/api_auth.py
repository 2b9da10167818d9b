"""`Authorization: Token <key>` for the REST API; the token carries its membership."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from cothon.tenancy import auth_throttle
from cothon.tenancy.selectors import api_token_resolve


class MembershipTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        auth_throttle.refuse_if_throttled(request)
        if len(header) != 2:
            auth_throttle.record_failure(request)
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            auth_throttle.record_failure(request)
            raise exceptions.AuthenticationFailed("Invalid token header: the key has invalid characters.") from exc
        token = api_token_resolve(key=key)
        if token is None or not token.membership.user.is_active:
            auth_throttle.record_failure(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        # The token decides the tenant, whatever the session says.
        request._request.tenant = token.membership.tenant
        request._request.membership = token.membership
        return token.membership.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
