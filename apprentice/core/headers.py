"""Security headers on every apprentice response: pages, errors, the API, exports, assets.

The Content-Security-Policy lets scripts and styles come from the app's own origin
only, never inline: templates carry no ``style=`` attribute or ``<script>`` body, and
rendered Markdown aligns table cells by class (apprentice/kb/rendering.py). Every
header is set only when the response does not carry it yet, so a header a host put
there first stays the host's (README: Security headers).
"""

from __future__ import annotations

from functools import cache

from flask import current_app, request

HSTS = "max-age=31536000"  # a year; sent only on HTTPS (see add_security_headers)

# The old header for browsers without CSP's frame-ancestors; only these two values map.
X_FRAME_OPTIONS = {"'self'": "SAMEORIGIN", "'none'": "DENY"}


@cache
def content_security_policy(frame_ancestors: str) -> str:
    """The policy: own scripts, styles and files; images by URL as procedures use them."""
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Procedures show images by URL (README: Procedures); the sanitiser lets
        # http and https sources through, so the policy does too.
        "img-src 'self' https: http:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ))


def add_security_headers(response, hsts: bool = False):
    """Put apprentice's headers on ``response`` where it has none of its own.

    ``hsts``: also ask browsers to keep to HTTPS when this request came over it. Only
    the standalone app asks: in a host, HSTS covers the host's whole site, its call.
    """
    if getattr(response, "apprentice_secured", False):  # the blueprint's hook, then the app's
        if hsts and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
    response.apprentice_secured = True
    ancestors = current_app.config["APPRENTICE_FRAME_ANCESTORS"]
    wanted = [
        ("Content-Security-Policy", content_security_policy(ancestors)),
        ("X-Content-Type-Options", "nosniff"),
        # Form tokens and kept-form keys travel in URLs: never send them to other sites.
        ("Referrer-Policy", "same-origin"),
    ]
    if ancestors in X_FRAME_OPTIONS:
        wanted.append(("X-Frame-Options", X_FRAME_OPTIONS[ancestors]))
    if response.mimetype == "text/html":
        # A page opened from another site gets no handle on this window.
        wanted.append(("Cross-Origin-Opener-Policy", "same-origin"))
    if not _is_asset(response):
        # Records and staff data stay off a shared desk computer's disk, and Back
        # asks the server again (which is how a form already saved answers so).
        wanted.append(("Cache-Control", "no-store"))
    if hsts and request.is_secure:
        wanted.append(("Strict-Transport-Security", HSTS))
    # The response's own names read once (each setdefault would read them all again).
    present = {name.lower() for name, _value in response.headers.items()}
    response.headers.extend([(name, value) for name, value in wanted
                             if name.lower() not in present])
    return response


def _is_asset(response) -> bool:
    """The app's own stylesheets, scripts and icons: public, and fine to cache."""
    return request.endpoint in ("apprentice.static", "favicon") and response.status_code < 400
