"""Which hosts and web origins are this machine's own, and how an allow-list of them is read.

Used where a server is bound (the HTTP server, the standalone emulator) and where requests are
checked against DNS rebinding (`http_app.Gatekeeper`); and which API URLs a key may be sent to."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
"""`Host` values of a server bound to loopback."""
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
"""Browser `Origin` values of pages served from this machine."""


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps a server reachable from this machine only."""
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_by(value: str, allowed: list[str]) -> bool:
    """The SDK's rule for a `Host` or an `Origin`: an exact match, or `name:*` (`scheme://host:*`)
    for any port of that name."""
    return value in allowed or any(
        pattern.endswith(":*") and value.startswith(pattern[:-1]) and value[len(pattern) - 1 :].isdigit()
        for pattern in allowed
    )


def api_url_problem(url: str) -> str | None:
    """Why `url` cannot be the API's base URL (None if it can): https, or http to this machine or a
    `.test` host (local emulators), ending in the version its paths begin with."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an http(s) URL ending in /v1, e.g. https://agents.lumalabs.ai/v1"
    if not re.search(r"/v\d+$", parts.path.rstrip("/")):
        return (
            "must end in /v1, where the API's paths begin (without it every request answers 404 Not Found), "
            "e.g. https://agents.lumalabs.ai/v1"
        )
    local = is_loopback(parts.hostname) or parts.hostname.endswith((".test", ".localhost"))
    if parts.scheme == "http" and not local:
        return "must use https: over http the API key would travel in clear (http is for local emulators)"
    return None
