"""The blueprint every API resource module declares its routes on.

flask-smorest's ``doc`` and ``alt_response`` only document an operation, yet each wraps
the view in one more function that reads ``current_app`` (a proxy) on every request:
the execute view carried six such layers. Here the documentation they make is put on
the view itself, unwrapped; the OpenAPI document is the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask_smorest

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class Blueprint(flask_smorest.Blueprint):
    def alt_response(self, *args: Any, **kwargs: Any) -> Decorator:
        return _documenting(super().alt_response(*args, **kwargs))

    @staticmethod
    def doc(**kwargs: Any) -> Decorator:
        return _documenting(flask_smorest.Blueprint.doc(**kwargs))


def _documenting(decorator: Decorator) -> Decorator:
    """``decorator``'s documentation (``_apidoc``) on the function, without its wrapper."""
    def document(func: Callable[..., Any]) -> Callable[..., Any]:
        func._apidoc = decorator(func)._apidoc  # type: ignore[attr-defined]
        return func
    return document
