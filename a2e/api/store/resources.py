"""The calling agent's StoreData values (read at ``/store/<key>`` by later runs)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, abort

from a2e.api.auth import current_principal
from a2e.api.blueprint import Blueprint
from a2e.api.state import state
from a2e.api.store.schemas import StorePageSchema, StoreQueryArgsSchema, StoredValueSchema
from a2e.store.models import StoredValue
from a2e.store.queries import values as queries

blp = Blueprint(
    "store", __name__, url_prefix="/api/v1/store",
    description="Values the calling agent's StoreData operations wrote",
)


def describe(row: StoredValue, *, with_value: bool = False) -> dict[str, Any]:
    body = {"key": row.key, "storage": row.storage, "created_at": row.created_at,
            "updated_at": row.updated_at}
    if with_value:
        body["value"] = row.value
    return body


@blp.route("")
class StoredValues(MethodView):
    @blp.arguments(StoreQueryArgsSchema, location="query")
    @blp.response(200, StorePageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The caller's stored keys, in key order (values through GET /store/<key>)"""
        limit = args["limit"]
        with state().db.session() as session:
            rows = queries.read_values(session, current_principal().agent_id, limit=limit,
                                       after_key=args["cursor"])
            items = [describe(row) for row in rows]
        full = len(rows) == limit
        return {"items": items, "next_cursor": rows[-1].key if full else None}


@blp.route("/<key>")
class StoredValueByKey(MethodView):
    @blp.response(200, StoredValueSchema)
    def get(self, key: str) -> dict[str, Any]:
        """One of the caller's stored values"""
        with state().db.session() as session:
            row = queries.read_value(session, current_principal().agent_id, key)
            if row is None:
                abort(404, message=f"no stored value {key!r}")
            return describe(row, with_value=True)

    @blp.response(204)
    def delete(self, key: str) -> None:
        """Delete one of the caller's stored values"""
        with state().db.session(write=True) as session:
            deleted = queries.delete_value(session, current_principal().agent_id, key)
        if not deleted:
            abort(404, message=f"no stored value {key!r}")


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
