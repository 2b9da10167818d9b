"""The alert webhook: where it may point (no SSRF), how its body is signed, and the POST.

The URL is checked when saved and again before every send, on the addresses its host resolves
to then: by default only https on public addresses; COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS also
allows http and https on loopback and private addresses. Link-local (cloud metadata), multicast
and reserved addresses are never allowed.

Signature (Stripe's scheme): `X-Cothon-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" keyed with the secret>`; verify_signature is the receiver's side, as
docs/alerts.md shows it."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from requests.utils import DEFAULT_CA_BUNDLE_PATH

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
SIGNATURE_TOLERANCE = 300  # seconds; the receiver refuses older signatures (replays)
# The CAs that https webhooks are verified with (requests' bundle, as for every other call).
CA_BUNDLE = DEFAULT_CA_BUNDLE_PATH


class WebhookUrlError(ValueError):
    """The URL may not be used (scheme, host or address)."""


def secret_generate() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _ip_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    if ip.is_global:
        return True
    return allow_private and (ip.is_loopback or ip.is_private)


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_url(url: str, *, resolve: bool = True) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses of `url`'s host, or WebhookUrlError when Cothon may not POST to it. With
    resolve=False an unknown host name passes (it is checked again, resolved, before each send)."""
    allow_private = settings.COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookUrlError("Enter a valid URL.") from exc
    if parts.scheme not in ("https", "http"):
        raise WebhookUrlError("The webhook URL must start with https://.")
    if parts.scheme == "http" and not allow_private:
        raise WebhookUrlError("The webhook URL must use https:// (http is allowed only for private addresses, "
                              "when COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS is set).")
    if not parts.hostname:
        raise WebhookUrlError("The webhook URL has no host.")
    if parts.username or parts.password:
        raise WebhookUrlError("The webhook URL may not hold a user name or password.")
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        host = "127.0.0.1"
    try:
        addresses = _resolve(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        if resolve:
            raise WebhookUrlError(f"The host {parts.hostname} could not be resolved.") from exc
        return []
    refused = [ip for ip in addresses if not _ip_allowed(ip, allow_private=allow_private)]
    if refused:
        raise WebhookUrlError(f"The webhook URL points to a {'link-local or reserved' if allow_private else 'private'} "
                              f"address ({refused[0]}): refused.")
    if parts.scheme == "http" and any(ip.is_global for ip in addresses):
        raise WebhookUrlError("The webhook URL must use https:// for a public host.")
    return addresses


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The X-Cothon-Signature header value of `body`."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify_signature(body: bytes, header: str, secret: str, *, tolerance: int = SIGNATURE_TOLERANCE,
                     now: float | None = None) -> bool:
    """The receiver's check (the snippet of docs/alerts.md): a v1 signature of this body with
    this secret, made within `tolerance` seconds."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for key, value in
               (part.split("=", 1) for part in header.split(",")) if key == "v1")


@dataclass(frozen=True)
class PostResult:
    ok: bool
    error: str = ""


def post(url: str, *, body: bytes, secret: str, event: str, delivery_id: str) -> PostResult:
    """POST the signed body. 2xx is success; a redirect is not followed (it is a failure).

    The connection goes to the address that was just checked (not to a second DNS answer, which
    a rebinding DNS server could point at an internal address); https still verifies the
    certificate for the URL's host name (SNI and hostname check)."""
    try:
        addresses = check_url(url)
    except WebhookUrlError as exc:
        return PostResult(False, str(exc))
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    host = parts.hostname or ""
    headers = {"Host": parts.netloc.rpartition("@")[2], "Content-Type": "application/json", "User-Agent": "Cothon-Alerts/1",
               "X-Cothon-Event": event, "X-Cothon-Delivery": delivery_id, "X-Cothon-Signature": sign(body, secret)}
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    if https:
        pool = urllib3.HTTPSConnectionPool(str(addresses[0]), port, timeout=timeout, retries=False, maxsize=1,
                                           cert_reqs="CERT_REQUIRED", ca_certs=CA_BUNDLE, server_hostname=host,
                                           assert_hostname=host)
    else:
        pool = urllib3.HTTPConnectionPool(str(addresses[0]), port, timeout=timeout, retries=False, maxsize=1)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen("POST", target, body=body, headers=headers, redirect=False, retries=False,
                                assert_same_host=False, preload_content=True)
    except urllib3.exceptions.HTTPError as exc:
        return PostResult(False, f"{_error_name(exc)}: {exc}"[:500])
    finally:
        pool.close()
    if 200 <= response.status < 300:
        return PostResult(True)
    return PostResult(False, f"HTTP {response.status} from the webhook")


def _error_name(exc: Exception) -> str:
    """A reader's word for a transport failure (ConnectionError, Timeout, SSLError, …)."""
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "SSLError"
    # NewConnectionError is a ConnectTimeoutError in urllib3's tree: ask it first.
    if isinstance(exc, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ProtocolError):
        return "ConnectionError"
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return "Timeout"
    return type(exc).__name__
