"""Encryption of Salesforce tokens at rest.

Keys come from the environment (COTHON_ENCRYPTION_KEYS, comma-separated Fernet keys, newest
first) and never touch the database or logs. MultiFernet encrypts with the first key and
decrypts with any, so a new key can be put in front and `manage.py rotate_token_keys`
re-encrypts every stored token with it before the old key is dropped.

Without configured keys (the demo, COTHON_DEMO=1 set by `make run`, or DJANGO_DEBUG=1 only), a
key is generated once into var/encryption_key (mode 0600) so the demo works out of the box.
Anything else refuses to start without keys (cothon/settings.py raises ImproperlyConfigured),
and this module refuses again should settings ever be bypassed.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from cothon.private_files import read_or_create_secret


class TokenDecryptionError(Exception):
    """A stored token could not be decrypted with any configured key."""


def _configured_keys() -> list[str]:
    keys = list(settings.COTHON_ENCRYPTION_KEYS)
    if keys:
        return keys
    if settings.COTHON_REQUIRE_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("COTHON_ENCRYPTION_KEYS must be set (see docs/configuration.md)")
    return [read_or_create_secret(settings.VAR_DIR / "encryption_key", lambda: Fernet.generate_key().decode())]


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in _configured_keys()])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "COTHON_ENCRYPTION_KEYS holds an invalid key: each must be 32 url-safe base64-encoded bytes "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        ) from exc


def reset_key_cache() -> None:
    _fernet.cache_clear()


def encrypt_token(value: str) -> bytes:
    if not value:
        return b""
    return _fernet().encrypt(value.encode())


def decrypt_token(blob: bytes | memoryview | None) -> str:
    if not blob:
        return ""
    try:
        return _fernet().decrypt(bytes(blob)).decode()
    except InvalidToken as exc:
        raise TokenDecryptionError(
            "A stored Salesforce token cannot be decrypted with the configured keys; "
            "was a key removed from COTHON_ENCRYPTION_KEYS before rotation?"
        ) from exc


def rotate_token(blob: bytes | memoryview | None) -> bytes:
    """Re-encrypt with the newest key (no-op for empty values)."""
    if not blob:
        return b""
    try:
        return _fernet().rotate(bytes(blob))
    except InvalidToken as exc:
        raise TokenDecryptionError("Token cannot be decrypted with any configured key") from exc
