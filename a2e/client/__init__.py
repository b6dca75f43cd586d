"""A Python client of the a2e server (only ``requests`` needed): ``Client``, ``ApiError``,
``WorkflowBuilder``. The answers are the server's JSON as dicts; ``a2e.client.types``
describes them for the type checker."""

from a2e.client.builder import WorkflowBuilder, credential, path
from a2e.client.client import Client
from a2e.client.errors import ApiError

__all__ = ["ApiError", "Client", "WorkflowBuilder", "credential", "path"]
