"""Saved workflows of the calling agent: versions by name, and runs of them by name."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, Response
from flask.views import MethodView
from flask_smorest import Api, abort
from sqlalchemy.exc import IntegrityError

from a2e.api import runtime, submit
from a2e.api.auth import current_principal
from a2e.api.blueprint import Blueprint
from a2e.api.events import record_event_in
from a2e.api.fields import path_parameter
from a2e.api.saved_workflows.schemas import (
    ExecuteSavedSchema,
    SavedListArgsSchema,
    SavedListPageSchema,
    SavedVersionSchema,
    SavedWorkflowSchema,
    SaveWorkflowSchema,
    VersionArgsSchema,
)
from a2e.api.state import state
from a2e.api.workflows.resources import PREFER_HEADER, json_response
from a2e.api.workflows.schemas import ExecuteResponseSchema, RefusalSchema, SubmittedSchema
from a2e.audit import actions
from a2e.engine.ports import SavedWorkflowRef
from a2e.engine.ops import REGISTRY
from a2e.protocol.workflow import parse_workflow
from a2e.store.models import SavedWorkflow
from a2e.store.queries import workflows as queries

blp = Blueprint(
    "saved_workflows", __name__, url_prefix="/api/v1/saved-workflows",
    description="Workflows saved by name (one version per save) and run by name",
)


def checked_name(name: str) -> str:
    if not queries.WORKFLOW_NAME.fullmatch(name):
        abort(400, message="a workflow name is 1-100 letters, digits, _ . -")
    return name


def saved_or_404(name: str, version: int | None) -> SavedWorkflow:
    with state().db.session() as session:
        row = queries.read_saved_workflow(session, current_principal().agent_id, checked_name(name),
                                          version)
    if row is None:
        which = f"version {version} of " if version is not None else ""
        abort(404, message=f"no {which}saved workflow {name!r}")
    return row


def _version(row: SavedWorkflow) -> dict[str, Any]:
    return {"name": row.name, "version": row.version, "description": row.description,
            "created_at": row.created_at}


@blp.route("")
class SavedWorkflows(MethodView):
    @blp.arguments(SavedListArgsSchema, location="query")
    @blp.response(200, SavedListPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The caller's saved workflows: the latest version of each, by name"""
        with state().db.session() as session:
            rows = queries.read_latest_saved_workflows(
                session, current_principal().agent_id, limit=args["limit"],
                after_name=args["cursor"],
            )
        full = len(rows) == args["limit"]
        return {"items": [_version(row) for row in rows],
                "next_cursor": rows[-1].name if full else None}


NAME_PARAMETER = path_parameter("name", queries.WORKFLOW_NAME.pattern,
                                "the workflow's name: 1-100 letters, digits, _ . -")


@blp.route("/<name>", parameters=[NAME_PARAMETER])
class SavedWorkflowByName(MethodView):
    @blp.arguments(SaveWorkflowSchema)
    @blp.response(201, SavedVersionSchema)
    @blp.alt_response(400, description="the name is invalid or the workflow does not parse")
    def post(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        """Save a new version of a workflow (it must parse)"""
        checked_name(name)
        text = runtime.source_text(body["workflow"])
        parse_workflow(text, REGISTRY)  # a ValidationError answers 400 with every parse error
        principal = current_principal()
        with state().db.session(write=True) as session:
            try:
                row = queries.create_saved_workflow(session, principal.agent_id, name, text,
                                                    body["description"])
            except IntegrityError:
                abort(409, message=f"workflow {name!r} was saved concurrently; save again")
            record_event_in(session, actions.WORKFLOW_SAVED, target=f"saved-workflow:{name}",
                            details={"name": name, "version": row.version})
        return _version(row)

    @blp.arguments(VersionArgsSchema, location="query")
    @blp.response(200, SavedWorkflowSchema)
    def get(self, args: dict[str, Any], name: str) -> dict[str, Any]:
        """Get the latest version of a saved workflow, or ?version=N"""
        row = saved_or_404(name, args["version"])
        return {**_version(row), "workflow": row.jsonl}

    @blp.response(204)
    def delete(self, name: str) -> None:
        """Delete every version of a saved workflow"""
        checked_name(name)
        with state().db.session(write=True) as session:
            deleted = queries.delete_saved_workflow(session, current_principal().agent_id, name)
            if not deleted:
                abort(404, message=f"no saved workflow {name!r}")
            record_event_in(session, actions.WORKFLOW_DELETED, target=f"saved-workflow:{name}",
                            details={"name": name, "versions": deleted})


@blp.route("/<name>/execute", parameters=[NAME_PARAMETER])
class ExecuteSavedWorkflow(MethodView):
    @blp.arguments(ExecuteSavedSchema())  # an instance: webargs makes one per request from a class
    @blp.doc(parameters=[PREFER_HEADER])
    @blp.response(200, ExecuteResponseSchema)
    @blp.alt_response(202, schema=SubmittedSchema, description='queued ("async": true or '
                      "Prefer: respond-async); Location names the execution",
                      headers={"Location": {"description": "/api/v1/executions/<execution_id>",
                                            "schema": {"type": "string"}}})
    @blp.alt_response(400, schema=RefusalSchema, description="refused before running")
    @blp.alt_response(403, schema=RefusalSchema, description="refused: permissions only")
    @blp.alt_response(404, description="no such saved workflow or version")
    @blp.alt_response(409, description="the executionId is already used by this agent")
    @blp.alt_response(429, description="over a rate limit or the concurrent-runs limit")
    def post(self, body: dict[str, Any], name: str) -> Response:
        """Run a saved workflow (latest version unless given) under a fresh or given execution id"""
        row = saved_or_404(name, body["version"])
        if submit.wants_async(body) or body["callbackUrl"] is not None:
            return submit.submit(
                current_principal(), row.jsonl,
                execution_id=body["executionId"] or f"exec-{uuid.uuid4().hex}",
                saved_workflow=SavedWorkflowRef(row.name, row.version),
                callback_url=body["callbackUrl"],
            )
        result, status = runtime.execute(
            current_principal(), row.jsonl,
            execution_id=body["executionId"] or f"exec-{uuid.uuid4().hex}",
            saved_workflow=SavedWorkflowRef(row.name, row.version),
        )
        return json_response(result, status)


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
