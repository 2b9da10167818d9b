"""Sessions: access tokens (00D<org15>!...), refresh tokens, authorization codes.

Tokens are kept in the store (so a restart keeps sessions) and cached in memory (every API
request validates one). Expiry follows the emulator's movable clock, so moving the clock
past a token's lifetime expires it as time would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import threading
import time
from dataclasses import dataclass

from . import clock
from .store import Store

_ALPHABET = string.ascii_letters + string.digits


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


@dataclass
class Session:
    token: str
    org: str
    user_id: str
    kind: str  # access | refresh
    client_id: str | None
    issued: float
    expires: float | None
    revoked: bool
    refresh: str | None

    def valid(self) -> bool:
        if self.revoked:
            return False
        return self.expires is None or clock.now().timestamp() < self.expires


@dataclass
class AuthCode:
    code: str
    org: str
    user_id: str
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str | None
    expires: float


class TokenService:
    def __init__(self, store: Store):
        self.store = store
        self._cache: dict[str, Session] = {}
        self._codes: dict[str, AuthCode] = {}
        self._lock = threading.Lock()

    def _save(self, s: Session) -> None:
        with self.store.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO tokens(token, org, user_id, kind, client_id, issued, "
                "expires, revoked, refresh) VALUES(?,?,?,?,?,?,?,?,?)",
                (s.token, s.org, s.user_id, s.kind, s.client_id, s.issued, s.expires,
                 int(s.revoked), s.refresh))
        with self._lock:
            self._cache[s.token] = s

    def issue_access(self, org: str, org_id15: str, user_id: str, lifetime: int,
                     client_id: str | None = None, refresh: str | None = None) -> Session:
        now = clock.now().timestamp()
        token = f"{org_id15}!AQ{_random(8)}.{_random(90)}"
        session = Session(token, org, user_id, "access", client_id, now, now + lifetime, False,
                          refresh)
        self._save(session)
        return session

    def issue_refresh(self, org: str, org_id15: str, user_id: str, client_id: str) -> Session:
        now = clock.now().timestamp()
        token = f"5Aep861{_random(80)}"
        session = Session(token, org, user_id, "refresh", client_id, now, None, False, None)
        self._save(session)
        return session

    def lookup(self, token: str) -> Session | None:
        with self._lock:
            cached = self._cache.get(token)
        if cached is not None:
            return cached
        row = self.store.conn.execute(
            "SELECT token, org, user_id, kind, client_id, issued, expires, revoked, refresh "
            "FROM tokens WHERE token=?", (token,)).fetchone()
        if row is None:
            return None
        session = Session(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]),
                          row[8])
        with self._lock:
            self._cache[token] = session
        return session

    def validate(self, token: str, kind: str = "access") -> Session | None:
        session = self.lookup(token)
        if session is None or session.kind != kind or not session.valid():
            return None
        return session

    def expire(self, token: str) -> bool:
        session = self.lookup(token)
        if session is None:
            return False
        session.expires = clock.now().timestamp() - 1
        self._save(session)
        return True

    def expire_all(self, org: str | None = None) -> int:
        now = clock.now().timestamp() - 1
        with self.store.write() as conn:
            if org:
                count = conn.execute("UPDATE tokens SET expires=? WHERE kind='access' AND org=?",
                                     (now, org)).rowcount
            else:
                count = conn.execute("UPDATE tokens SET expires=? WHERE kind='access'",
                                     (now,)).rowcount
        with self._lock:
            self._cache.clear()
        return count

    def revoke(self, token: str) -> bool:
        """Revoking a refresh token also revokes the access tokens it issued (as Salesforce)."""
        session = self.lookup(token)
        if session is None:
            return False
        with self.store.write() as conn:
            conn.execute("UPDATE tokens SET revoked=1 WHERE token=?", (token,))
            if session.kind == "refresh":
                conn.execute("UPDATE tokens SET revoked=1 WHERE refresh=?", (token,))
        with self._lock:
            self._cache.clear()
        return True

    # -- authorization codes (short-lived, in memory) ------------------------------------
    def new_code(self, org: str, user_id: str, client_id: str, redirect_uri: str,
                 challenge: str | None, method: str | None) -> str:
        code = "aPrx" + _random(60)
        with self._lock:
            self._codes[code] = AuthCode(code, org, user_id, client_id, redirect_uri, challenge,
                                         method, time.time() + 900)
        return code

    def take_code(self, code: str) -> AuthCode | None:
        with self._lock:
            found = self._codes.pop(code, None)
        if found is None or found.expires < time.time():
            return None
        return found


def pkce_ok(challenge: str | None, method: str | None, verifier: str | None) -> bool:
    if not challenge:
        return True
    if not verifier:
        return False
    # Salesforce defines code_challenge as the SHA-256 of the verifier and has no method
    # parameter (jsforce sends none): S256 unless "plain" is asked for explicitly.
    if (method or "S256").upper() == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)


def signature(identity_url: str, issued_at: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")
