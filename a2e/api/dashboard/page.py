"""``GET /dashboard``: the operator's page, and its script and stylesheet, from the package.

The page holds no data and needs no key: it asks for an admin key, keeps it in the
browser's sessionStorage and reads ``/api/v1/dashboard/metrics`` with it.
"""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response, abort

ASSETS = files("a2e.api.dashboard") / "static"
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
#: The page loads nothing from elsewhere: scripts, styles and data from this server only.
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")

blp = Blueprint("dashboard_page", __name__)


def asset(name: str) -> Response:
    suffix = name[name.rfind("."):]
    path = ASSETS / name
    if suffix not in MEDIA_TYPES or "/" in name or not path.is_file():
        abort(404)
    response = Response(path.read_bytes(), content_type=f"{MEDIA_TYPES[suffix]}; charset=utf-8")
    response.headers.update({
        "Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache",
    })
    return response


@blp.get("/dashboard")
def dashboard() -> Response:
    return asset("dashboard.html")


@blp.get("/dashboard/assets/<name>")
def dashboard_asset(name: str) -> Response:
    return asset(name)
