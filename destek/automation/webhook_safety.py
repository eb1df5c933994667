"""The address check that keeps webhooks off private networks, and the signature."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from destek.lib.errors import ActionRefused

AddressInfo = tuple[str, int]


# --- the address check ---------------------------------------------------------------------


def refused_url() -> ActionRefused:
    return ActionRefused(
        "webhook_url_refused",
        _("Give an http:// or https:// address of a server reachable on the internet."),
        field="url",
    )


def _private_refused() -> ActionRefused:
    return ActionRefused(
        "webhook_private_address",
        _(
            "This address is on a private, loopback or link-local network; such targets are "
            "refused unless DESTEK_WEBHOOKS_ALLOW_PRIVATE is set."
        ),
        field="url",
    )


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one (::ffff:a.b.c.d, 6to4 2002:aabb:ccdd::/48) is
        # judged by the IPv4 address it carries: 6to4 relays reach it.
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None and not is_public(ip.sixtofour):
            return False
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def split_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or refused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise refused_url() from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refused_url()
    if parts.username or parts.password:
        raise refused_url()
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(url: str) -> list[AddressInfo]:
    """The addresses the URL's host resolves to, every one checked: one private address
    refuses the whole URL (a name answering both is a classic rebinding trick)."""
    _scheme, host, port = split_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ActionRefused(
            "webhook_unresolvable",
            _("The host name of this address cannot be resolved."),
            field="url",
        ) from None
    found: list[AddressInfo] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = (str(sockaddr[0]), int(sockaddr[1]))
        if address not in found:
            found.append(address)
    if not settings.DESTEK_WEBHOOKS_ALLOW_PRIVATE:
        for ip, _port in found:
            if not is_public(ipaddress.ip_address(ip.split("%")[0])):
                raise _private_refused()
    return found


# --- the signature -------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
