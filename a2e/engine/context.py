"""A run's data model and the context each operation runs with.

The data model is a dict with ``workflow`` (what operations write), ``loop`` (``item`` and
``index`` inside a Loop) and ``store`` (the agent's StoreData values, loaded lazily: only
keys actually read). Operations see it only through :class:`OpContext`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from a2e.engine.bounds import RunBudget
from a2e.engine.http import HttpClient
from a2e.engine.ports import AgentContext, ApiCallLimiter, Clock, CredentialStore, ValueStore
from a2e.engine.retry import RetryPolicy
from a2e.engine.scrub import Scrubber
from a2e.errors import DataError, ExecutionError, OperationTimeout, PermissionDenied
from a2e.protocol.model import ExecutionLimits, Operation
from a2e.protocol.paths import (
    is_credential_ref,
    parse_path,
    read_path,
    render_template,
    resolve_refs,
    write_path,
)

READ_ONLY_ROOTS = frozenset({"loop", "store"})


class StoreNamespace(dict):
    """``/store``: fetches an agent's stored value from the ValueStore on first read."""

    def __init__(self, values: ValueStore | None, agent_id: Any) -> None:
        super().__init__()
        self._values = values
        self._agent_id = agent_id

    def __missing__(self, key: str) -> Any:
        if self._values is None:
            raise KeyError(key)
        value = self._values.get(self._agent_id, key)
        self[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


@dataclass
class Services:
    """The ports and clients a run uses (None: the feature is not configured)."""

    clock: Clock
    http: HttpClient
    values: ValueStore | None = None
    limiter: ApiCallLimiter | None = None
    credentials: CredentialStore | None = None
    retry: RetryPolicy | None = None


@dataclass
class RunState:
    """What the operations of one run share."""

    agent: AgentContext
    limits: ExecutionLimits
    services: Services
    deadline: float
    data: dict[str, Any]
    iteration: int | None = None
    wait_spent_ms: int = 0
    secrets: Scrubber = field(default_factory=Scrubber)
    budget: RunBudget = field(init=False)

    def __post_init__(self) -> None:
        self.budget = RunBudget(self.limits)

    @classmethod
    def start(cls, agent: AgentContext, limits: ExecutionLimits, services: Services) -> RunState:
        data = {"workflow": {}, "loop": {}, "store": StoreNamespace(services.values, agent.agent_id)}
        deadline = services.clock.monotonic() + limits.run_deadline_s
        return cls(agent, limits, services, deadline, data)


@dataclass(frozen=True)
class CredentialedHttp:
    """:meth:`HttpClient.send` with the secrets of the sending operation passed along."""

    client: HttpClient
    credentials: Mapping[str, tuple[str, ...]]

    def send(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.send(*args, credentials=self.credentials, **kwargs)


class OpContext:
    """What one operation may do: read and write the data model, resolve references,
    tell the time, and (Conditional, Loop) run other operations."""

    def __init__(self, state: RunState, op: Operation,
                 run_nested: Callable[[Sequence[str]], Any]) -> None:
        self._state = state
        self._op = op
        self._run_nested = run_nested
        self.attempts: list[dict[str, Any]] = []
        #: The secrets this operation resolved, each with the hosts it is bound to.
        self.sent: dict[str, tuple[str, ...]] = {}

    @property
    def op_id(self) -> str:
        return self._op.op_id

    @property
    def op_type(self) -> str:
        return self._op.op_type

    @property
    def agent_id(self) -> Any:
        return self._state.agent.agent_id

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return self._state.agent.permissions.allowed_hosts

    @property
    def limits(self) -> ExecutionLimits:
        return self._state.limits

    @property
    def http(self) -> CredentialedHttp:
        """The HTTP client, told which secrets this operation sends (host bindings, redirects)."""
        return CredentialedHttp(self._state.services.http, self.sent)

    @property
    def limiter(self) -> ApiCallLimiter | None:
        return self._state.services.limiter

    @property
    def retry(self) -> RetryPolicy | None:
        """ApiCall's retry policy (None: one attempt)."""
        return self._state.services.retry

    @property
    def remaining_s(self) -> float:
        """Seconds left before the run's deadline (may be negative)."""
        return self._state.deadline - self._state.services.clock.monotonic()

    @property
    def wait_budget_ms(self) -> int:
        """Milliseconds of Wait this run may still spend."""
        return self._state.limits.max_wait_ms - self._state.wait_spent_ms

    def now(self) -> datetime:
        return self._state.services.clock.now()

    def read(self, path: str) -> Any:
        """The value at ``path``; DataError naming the path when it does not resolve."""
        return read_path(self._state.data, path)

    def write(self, path: str, value: Any) -> None:
        """Store a copy of ``value`` at ``path`` (``/loop`` and ``/store`` are read-only)."""
        if parse_path(path)[0] in READ_ONLY_ROOTS:
            raise DataError(f"cannot write path {path}: /loop and /store are read-only",
                            details={"path": path},
                            suggestions=["Write to a path under /workflow"])
        write_path(self._state.data, path, copy.deepcopy(value))

    def render(self, text: str) -> str:
        """``text`` with every ``{/path}`` replaced by the data there."""
        return render_template(text, self._state.data)

    def resolve_refs(self, value: Any) -> Any:
        """A copy of ``value`` with path references and templates resolved; credential
        references are left in place (safe for cache keys and records)."""
        return resolve_refs(value, self._state.data)

    def with_credentials(self, value: Any) -> Any:
        """``value`` with each ``{"credentialRef": {"id": ...}}`` replaced by its secret."""
        if is_credential_ref(value):
            return self._secret(value["credentialRef"])
        if isinstance(value, Mapping):
            return {key: self.with_credentials(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.with_credentials(item) for item in value]
        return value

    def resolve(self, value: Any) -> Any:
        """References, templates and credentials all resolved (never record the result)."""
        return self.with_credentials(self.resolve_refs(value))

    def _secret(self, ref: Any) -> str:
        credential_id = ref.get("id") if isinstance(ref, Mapping) else None
        if not isinstance(credential_id, str):
            raise DataError('credentialRef needs {"id": "<credential id>"}')
        store = self._state.services.credentials
        if store is None:
            raise PermissionDenied(f"Credential {credential_id!r} is not available")
        found = store.lookup(self.agent_id, credential_id)
        self.sent[found.value] = found.hosts
        self._state.secrets.add(found.value)
        return found.value

    def store(self, storage: str, key: str, value: Any, *, persist: bool = True) -> None:
        """Persist ``value`` for the agent (StoreData; with ``persist=False`` for this run
        only); this run reads it at ``/store/<key>``."""
        if persist:
            values = self._state.services.values
            if values is None:
                raise ExecutionError("No value store is configured for StoreData")
            values.put(self.agent_id, storage, key, value)
        self._state.data["store"][key] = copy.deepcopy(value)

    def sleep(self, ms: int) -> None:
        """Pause ``ms`` milliseconds, spending the run's Wait budget."""
        if ms > self.wait_budget_ms:
            raise OperationTimeout(
                f"Wait of {ms} ms exceeds the run's remaining wait budget of {self.wait_budget_ms} ms",
                details={"maxWaitMs": self._state.limits.max_wait_ms},
            )
        if ms / 1000 > self.remaining_s:
            raise OperationTimeout(
                f"Wait of {ms} ms does not fit before the run deadline",
                details={"runDeadlineS": self._state.limits.run_deadline_s},
            )
        self._state.wait_spent_ms += ms
        self._state.services.clock.sleep(ms / 1000)

    def pause(self, seconds: float) -> None:
        """Wait between retries on the run's clock (bounded by the deadline, not by the Wait
        budget: the retry policy never waits past the deadline)."""
        self._state.services.clock.sleep(seconds)

    def record_attempt(self, entry: dict[str, Any]) -> None:
        """Add one HTTP attempt to this step's record."""
        self.attempts.append(entry)

    def run_nested(self, op_ids: Sequence[str]) -> Any:
        """Run operations by id, in order, as steps of this run; the last one's result."""
        return self._run_nested(op_ids)

    @contextmanager
    def loop_scope(self, item: Any, index: int) -> Iterator[None]:
        """Set ``/loop/item`` and ``/loop/index`` (restoring an outer loop's afterwards)."""
        state = self._state
        outer_loop, outer_iteration = state.data["loop"], state.iteration
        state.data["loop"], state.iteration = {"item": item, "index": index}, index
        try:
            yield
        finally:
            state.data["loop"], state.iteration = outer_loop, outer_iteration
