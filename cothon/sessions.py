"""The session store: Django's database store, refusing a session key it could never have made.

A `sessionid` cookie holding a NUL character reached the session query and PostgreSQL refused
it (a 500 on every page and API call from one request; schemathesis found it through the
cookie-auth parameter). Django's keys are 32 characters of a-z and 0-9; any other cookie value
is treated as no session, exactly like an expired one.
"""

from __future__ import annotations

import re

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY = re.compile(r"[a-z0-9]{8,40}")


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(key) and _KEY.fullmatch(key) is not None
