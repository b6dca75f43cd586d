"""``GET /dashboard``: the operator's page, and its script and stylesheet, from the package.

The page holds no data and needs no key: it asks for an admin key, keeps it in the
browser's sessionStorage and reads ``/api/v1/dashboard/metrics`` with it.
"""

from __future__ import annotations

from importlib.resources import files

from flask import Response
from flask.views import MethodView
from flask_smorest import abort

from a2e.api.blueprint import Blueprint

ASSETS = files("a2e.api.dashboard") / "static"
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
#: The page loads nothing from elsewhere: scripts, styles and data from this server only.
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")

blp = Blueprint("dashboard_page", __name__, description="The dashboard page (needs no key)")


def asset(name: str) -> Response:
    suffix = name[name.rfind("."):]
    path = ASSETS / name
    if suffix not in MEDIA_TYPES or "/" in name or not path.is_file():
        abort(404, message=f"no dashboard asset {name!r}")
    response = Response(path.read_bytes(), content_type=f"{MEDIA_TYPES[suffix]}; charset=utf-8")
    response.headers.update({
        "Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache",
    })
    return response


@blp.route("/dashboard")
class DashboardPage(MethodView):
    @blp.response(200, description="the page", content_type="text/html")
    def get(self) -> Response:
        """The dashboard page; it asks for an admin key"""
        return asset("dashboard.html")


@blp.route("/dashboard/assets/<name>")
class DashboardAsset(MethodView):
    @blp.response(200, description="the page's script or stylesheet", content_type="text/plain")
    @blp.alt_response(404, description="no such asset")
    def get(self, name: str) -> Response:
        """The dashboard's script and stylesheet"""
        return asset(name)
