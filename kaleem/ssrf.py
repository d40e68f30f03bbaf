"""SSRF guard for URLs we fetch on behalf of a merchant or from a provider payload."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from kaleem.core.errors import ApplicationError


class UnsafeURLError(ApplicationError):
    code = "unsafe_url"


def assert_public_url(url: str) -> None:
    """Refuse non-http(s) URLs and hosts resolving to private, loopback, link-local or reserved
    addresses, unless settings.SSRF_ALLOW_PRIVATE (tests talk to 127.0.0.1 fakes)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeURLError("Only http(s) URLs with a host are allowed.")
    if getattr(settings, "SSRF_ALLOW_PRIVATE", False):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        raise UnsafeURLError(f"Cannot resolve {parts.hostname}.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            raise UnsafeURLError(f"{parts.hostname} resolves to a non-public address.")
