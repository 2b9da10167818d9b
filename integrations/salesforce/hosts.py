"""Where Cothon may send a Salesforce login or API call: the guard against SSRF.

A tenant admin types the login URL, and the token response names the instance URL; neither may
make the server talk to anything but Salesforce. Accepted:

- https on a Salesforce domain (SALESFORCE_DOMAINS: login.salesforce.com, My Domain hosts such as
  acme.my.salesforce.com / acme--uat.sandbox.my.salesforce.com, *.force.com, Government Cloud's
  *.salesforce.mil, legacy *.cloudforce.com, setup and Sites domains), on the default port;
- https on a host of the operator's allow-list (COTHON_SALESFORCE_HOST_ALLOWLIST), any port;
- http or https on 127.0.0.1 / ::1 / localhost only when COTHON_ALLOW_LOOPBACK_SALESFORCE is on
  (`make run` and the test suite, for the local emulator).

Everything else is refused before any connection is opened: other hosts, IP literals, user info
in the URL, and Salesforce names that resolve to a private, loopback, link-local or reserved
address (unless allow-listed). Refusals and unreachable hosts are told apart from nothing else:
the message never says whether a port is open.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from integrations.salesforce.errors import SalesforceAuthError

# Salesforce's documented domains for logins, My Domain, instances, setup and Sites
# ("Allow the Required Domains", Salesforce Help), as suffixes: any host under them.
SALESFORCE_DOMAINS = (
    "salesforce.com",          # login., test., *.my., *.sandbox.my., instances (na1., eu12.)
    "force.com",               # *.lightning.force.com, *.my.site.com predecessors, Sites
    "cloudforce.com",          # legacy My Domain
    "salesforce.mil",          # Government Cloud Plus – Defense (*.my.salesforce.mil)
    "force.mil",
    "salesforce-setup.com",    # enhanced domains: Setup
    "salesforce-sites.com",    # enhanced domains: Salesforce Sites (*.my.salesforce-sites.com)
    "site.com",                # enhanced domains: Experience Cloud sites (*.my.site.com)
    "sfcrmproducts.cn",        # Salesforce on Alibaba Cloud
)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

HOST_REFUSED = "HOST_NOT_ALLOWED"


def _allowlist() -> list[str]:
    return [entry.strip().lower().rstrip(".") for entry in settings.COTHON_SALESFORCE_HOST_ALLOWLIST if entry.strip()]


def _under(host: str, suffix: str) -> bool:
    return host == suffix or host.endswith("." + suffix)


def is_allowlisted(host: str) -> bool:
    """An entry "gov.example" allows that host only; ".gov.example" any host under it too."""
    for entry in _allowlist():
        if entry.startswith("."):
            if _under(host, entry[1:]):
                return True
        elif host == entry:
            return True
    return False


def is_salesforce_host(host: str) -> bool:
    # A subdomain is required: the bare "salesforce.com" serves no login or API.
    return any(host.endswith("." + domain) for domain in SALESFORCE_DOMAINS)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    ip = _ip(host)
    return ip is not None and ip.is_loopback


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def problem(url: str, *, what: str = "The login URL") -> str | None:
    """None when Cothon may call this URL, else why not (a sentence for the admin). No network."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return f"{what} is not a valid URL."
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return f"{what} must be a full address starting with https://, e.g. https://yourcompany.my.salesforce.com."
    if parts.username or parts.password:
        return f"{what} must not contain a user name or password."
    if is_loopback_host(host):
        if settings.COTHON_ALLOW_LOOPBACK_SALESFORCE:
            return None
        return (f"{what} points at this server itself (localhost). Only the local demo may do that; "
                "use your org's https://….my.salesforce.com address.")
    if parts.scheme != "https":
        return f"{what} must start with https://."
    if is_allowlisted(host):
        return None
    if _ip(host) is not None:
        return f"{what} must be a Salesforce domain name, not an IP address."
    if not is_salesforce_host(host):
        return (f"{what} must be a Salesforce address (…salesforce.com, …force.com, …salesforce.mil, …cloudforce.com); "
                f"“{host}” is not one. An operator can allow other hosts with COTHON_SALESFORCE_HOST_ALLOWLIST.")
    if port not in (None, 443):
        return f"{what} must use the standard https port."
    return None


def _resolve(host: str, port: int) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def guard(url: str, *, what: str = "The Salesforce address") -> None:
    """Raise SalesforceAuthError(HOST_NOT_ALLOWED) unless Cothon may open a connection to `url`
    now: the checks of problem(), then where the name resolves (a Salesforce name pointing at a
    private or loopback address is refused unless allow-listed)."""
    reason = problem(url, what=what)
    if reason:
        raise SalesforceAuthError(HOST_REFUSED, reason)
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    if is_allowlisted(host) or (is_loopback_host(host) and settings.COTHON_ALLOW_LOOPBACK_SALESFORCE):
        return
    try:
        addresses = _resolve(host, parts.port or 443)
    except (OSError, UnicodeError):
        raise unreachable(url) from None
    for address in addresses:
        ip = _ip(address.split("%", 1)[0])
        if ip is None or _not_public(ip):
            raise SalesforceAuthError(
                HOST_REFUSED, f"{what} “{host}” resolves to a private or local network address; Cothon does not call it. "
                "An operator can allow it with COTHON_SALESFORCE_HOST_ALLOWLIST.")


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or url)[:100]
    except ValueError:
        return "the given address"


def unreachable(url: str) -> SalesforceAuthError:
    """The one message for "no answer": refused, timed out, TLS failure or unknown name alike,
    so the form cannot be used to map which ports or hosts answer."""
    return SalesforceAuthError("CONNECTION_ERROR", f"Could not reach Salesforce at {host_of(url)}. Check the address and try again.")
