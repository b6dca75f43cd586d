"""Static checks of a parsed workflow (PROTOCOL §4, §10).

:func:`validate_workflow` returns a :class:`Report`. The permission checks (the
agent's operation types, ApiCall literal hosts, credential ids) always run;
with ``full=True`` (the default) the whole report runs too: known operation
types and their configs, ids named by the order, branches and loops, cycles,
size and Wait limits, and a data-flow pass that warns about paths read before
anything writes them. Every issue names its line and operation id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from a2e.errors import A2EError, DataError, PermissionDenied, ValidationError
from a2e.protocol.catalog import Catalog, OpSpec, suggest
from a2e.protocol.hosts import host_allowed, host_of, is_private_literal
from a2e.protocol.model import AgentPermissions, ExecutionLimits, Issue, Operation, Workflow
from a2e.protocol.paths import PLACEHOLDER, is_credential_ref, parse_path, path_covers

PERMISSION = "PermissionError"
DATA_FLOW_BUDGET = 10_000  # operation visits before the data-flow pass gives up
MAX_NESTING = 200  # branch/loop depth before the data-flow pass gives up


@dataclass(frozen=True)
class Report:
    """The outcome of validation: valid when there are no errors."""

    valid: bool
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [issue.to_dict() for issue in self.errors],
            "warnings": [issue.to_dict() for issue in self.warnings],
        }


def permission_only(report: Report) -> bool:
    """Whether the report has errors and all of them are permission errors (→ 403, else 400)."""
    return bool(report.errors) and all(issue.type == PERMISSION for issue in report.errors)


def as_error(report: Report) -> A2EError:
    """The report's first error as an exception (PermissionDenied when :func:`permission_only`)."""
    first = report.errors[0]
    error_class = PermissionDenied if permission_only(report) else ValidationError
    more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
    return error_class(
        f"{first.message}{more}",
        operation_id=first.operation_id,
        line=first.line,
        suggestions=[first.suggestion] if first.suggestion else [],
    )


@dataclass
class _Collector:
    """Errors and warnings found so far, each tied to an operation (or the begin line)."""

    begin_line: int | None
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(
        self,
        op: Operation | None,
        message: str,
        *,
        kind: str = "ValidationError",
        suggestion: str | None = None,
    ) -> None:
        self.errors.append(self._issue(op, message, kind, suggestion))

    def warn(
        self,
        op: Operation | None,
        message: str,
        *,
        kind: str = "ValidationError",
        suggestion: str | None = None,
    ) -> None:
        self.warnings.append(self._issue(op, message, kind, suggestion))

    def _issue(self, op: Operation | None, message: str, kind: str, suggestion: str | None) -> Issue:
        if op is None:
            return Issue(message, type=kind, line=self.begin_line, suggestion=suggestion)
        return Issue(message, type=kind, line=op.line, operation_id=op.op_id, suggestion=suggestion)

    def report(self) -> Report:
        return Report(not self.errors, tuple(self.errors), tuple(self.warnings))


def validate_workflow(
    workflow: Workflow,
    permissions: AgentPermissions,
    limits: ExecutionLimits,
    catalog: Catalog,
    *,
    full: bool = True,
    data_flow: bool = True,
) -> Report:
    """Check ``workflow`` for ``permissions`` and ``limits`` against the operation types of
    ``catalog``; only permissions unless ``full``. ``data_flow=False`` leaves out the
    data-flow walk, which only warns (for a caller that reads the warnings only when
    there are errors)."""
    found = _Collector(workflow.begin_line)
    known = {op_id: (op, catalog.get(op.op_type, _NO_SPEC)) for op_id, op in workflow.operations.items()}
    for op, spec in known.values():
        if spec is not _NO_SPEC:
            _check_permissions(found, op, spec, permissions)
    if full:
        _check_size(found, workflow, limits)
        for op in workflow.operations.values():
            _check_operation(found, op, catalog, workflow.operations)
        _check_cycles(found, known, workflow.operations)
        _check_waits(found, known, limits)
        if data_flow:
            _check_data_flow(found, workflow, known)
    return found.report()


#: Each operation with its type's spec (an unknown type: a spec without keys).
_Known = Mapping[str, tuple[Operation, OpSpec]]
_NO_SPEC = OpSpec("", "", {}, run=lambda ctx, config: None)


# --- permissions, hosts, credentials (always) ---------------------------------


def _check_permissions(
    found: _Collector, op: Operation, spec: OpSpec, permissions: AgentPermissions
) -> None:
    allowed = permissions.allowed_operations
    if allowed is not None and op.op_type not in allowed:
        found.error(
            op,
            f"operation type {op.op_type} is not allowed for this agent",
            kind=PERMISSION,
            suggestion=f"allowed: {', '.join(sorted(allowed)) or 'none'}",
        )
    urls = list(spec.urls(op.config))
    for url in urls:
        _check_host(found, op, url, permissions.allowed_hosts)
    for value in spec.credential_values(op.config):
        _check_credentials(found, op, value, permissions, urls)


def _check_host(found: _Collector, op: Operation, url: Any, allowed_hosts: tuple[str, ...]) -> None:
    if not isinstance(url, str):
        return
    if _host_is_templated(url):
        found.warn(op, "the URL's host comes from data, so it is checked at run time", kind=PERMISSION)
        return
    try:
        host = host_of(url)
    except A2EError as error:
        found.error(op, error.message, kind=error.error_type, suggestion=next(iter(error.suggestions), None))
        return
    if not host_allowed(host, allowed_hosts):
        found.error(op, _refusal(host), kind=PERMISSION, suggestion="ask an admin to allow this host")


def _host_is_templated(url: str) -> bool:
    """Whether a ``{/path}`` placeholder appears before the URL's authority has ended."""
    match = PLACEHOLDER.search(url)
    if match is None:
        return False
    _, separator, rest = url[: match.start()].partition("://")
    return not separator or not any(char in rest for char in "/?#")


def _refusal(host: str) -> str:
    if is_private_literal(host):
        return f"host {host} is a private, loopback or metadata address; only an exact entry opens it"
    return f"host {host} is not among this agent's allowed hosts"


def _check_credentials(found: _Collector, op: Operation, value: Any, permissions: AgentPermissions,
                       urls: list[Any]) -> None:
    for ref in _credential_refs(value):
        credential_id = ref.get("id") if isinstance(ref, Mapping) else None
        if not isinstance(credential_id, str):
            found.error(op, 'a credentialRef must be {"id": "<credential id>"}')
        elif credential_id not in permissions.credential_ids:
            found.error(op, f"credential {credential_id!r} is not available to this agent", kind=PERMISSION)
        elif credential_id in permissions.credential_hosts:
            for url in urls:
                _check_binding(found, op, credential_id, permissions.credential_hosts[credential_id], url)


def _check_binding(found: _Collector, op: Operation, credential_id: str, hosts: tuple[str, ...],
                   url: Any) -> None:
    """A bound credential only toward its hosts (a templated host is checked at run time)."""
    if not isinstance(url, str) or _host_is_templated(url):
        return
    try:
        host = host_of(url)
    except A2EError:
        return  # _check_host reports the URL
    if not host_allowed(host, hosts):
        found.error(op, f"credential {credential_id!r} is bound to {', '.join(hosts)}, not to host {host}",
                    kind=PERMISSION, suggestion="ask an admin to add the host to the credential's hosts")


def _credential_refs(value: Any) -> Iterator[Any]:
    """The inner values of every ``{"credentialRef": ...}`` in ``value``."""
    if is_credential_ref(value):
        yield value["credentialRef"]
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _credential_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _credential_refs(item)


# --- structure (full) -----------------------------------------------------------


def _check_size(found: _Collector, workflow: Workflow, limits: ExecutionLimits) -> None:
    count = len(workflow.operations)
    if count > limits.max_operations:
        found.error(None, f"the workflow has {count} operations; the limit is {limits.max_operations}")
    for op_id in workflow.order:
        if op_id not in workflow.operations:
            found.error(
                None,
                f"the run order names unknown operation {op_id!r}",
                suggestion=suggest(op_id, workflow.operations),
            )


def _check_operation(
    found: _Collector, op: Operation, catalog: Catalog, operations: Mapping[str, Operation]
) -> None:
    for finding in catalog.check_config(op.op_type, op.config):
        report = found.warn if finding.warning else found.error
        report(op, finding.message, suggestion=finding.suggestion)
    for key, targets in catalog.get(op.op_type, _NO_SPEC).id_lists(op.config).items():
        for target in targets:
            if target not in operations:
                found.error(
                    op, f"{key} names unknown operation {target!r}", suggestion=suggest(target, operations)
                )


def _check_cycles(found: _Collector, known: _Known, operations: Mapping[str, Operation]) -> None:
    """Report each cycle through branches and loop bodies once (iterative DFS)."""
    edges = {
        op_id: [target for target in spec.referenced_ids(op.config) if target in operations]
        for op_id, (op, spec) in known.items()
    }
    done: set[str] = set()
    reported: set[frozenset[str]] = set()
    for start in operations:
        if start in done:
            continue
        path, pending = [start], [iter(edges[start])]
        while pending:
            target = next(pending[-1], None)
            if target is None:
                done.add(path.pop())
                pending.pop()
            elif target in path:
                cycle = path[path.index(target) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    found.error(
                        operations[target], f"cycle: {' → '.join([*cycle, target])}", suggestion=_CYCLE_HINT
                    )
            elif target not in done:
                path.append(target)
                pending.append(iter(edges[target]))


_CYCLE_HINT = "a Loop or branch may not reach itself"


def _check_waits(found: _Collector, known: _Known, limits: ExecutionLimits) -> None:
    """All pauses (each operation counted once) together stay within the limit."""
    total = 0
    for op, spec in known.values():
        duration = spec.wait_ms(op.config)
        if duration > 0:
            total += duration
            if total > limits.max_wait_ms:
                found.error(op, f"Wait durations add up to {total} ms; the limit is {limits.max_wait_ms} ms")
                return


# --- data flow (full): warnings only --------------------------------------------


@dataclass
class _Flow:
    """A walk over the run order, branches and loop bodies, tracking written paths."""

    found: _Collector
    known: _Known
    budget: int = DATA_FLOW_BUDGET
    reached: set[str] = field(default_factory=set)
    warned: set[tuple[str, str]] = field(default_factory=set)

    def walk(
        self, ids: tuple[str, ...], written: list[str], *, in_loop: bool, stack: tuple[str, ...] = ()
    ) -> None:
        for op_id in ids:
            if op_id not in self.known or op_id in stack or self.budget <= 0:
                continue
            op, spec = self.known[op_id]
            if len(stack) >= MAX_NESTING:
                self.budget = 0
                return
            self.budget -= 1
            self.reached.add(op_id)
            self._check_reads(op, spec, written, in_loop=in_loop)
            self._walk_children(op, spec, written, in_loop=in_loop, stack=(*stack, op_id))
            written.extend(path for path in spec.written_paths(op.config) if _parses(path))

    def _walk_children(
        self, op: Operation, spec: OpSpec, written: list[str], *, in_loop: bool, stack: tuple[str, ...]
    ) -> None:
        if spec.runs_body():
            self.walk(spec.referenced_ids(op.config), written, in_loop=True, stack=stack)
            return
        before = list(written)
        for targets in spec.id_lists(op.config).values():
            branch_written = list(before)
            self.walk(targets, branch_written, in_loop=in_loop, stack=stack)
            written.extend(branch_written[len(before) :])

    def _check_reads(self, op: Operation, spec: OpSpec, written: list[str], *, in_loop: bool) -> None:
        for path in spec.read_paths(op.config):
            problem = _read_problem(path, written, in_loop=in_loop)
            if problem and (op.op_id, path) not in self.warned:
                self.warned.add((op.op_id, path))
                self.found.warn(op, problem, kind=DataError.error_type, suggestion=_READ_HINT)


_READ_HINT = "write it in an earlier operation, or read stored data at /store/<key>"


def _read_problem(path: str, written: list[str], *, in_loop: bool) -> str | None:
    """Why a read of ``path`` may fail at run time, or None."""
    try:
        root = parse_path(path)[0]
    except DataError:
        return None  # reported by the config check
    if root == "store" or (root == "loop" and in_loop):
        return None
    if root == "loop":
        return f"reads {path} outside a Loop"
    if any(path_covers(done, path) for done in written):
        return None
    return f"reads {path}, which no earlier operation writes"


def _parses(path: str) -> bool:
    try:
        parse_path(path)
    except DataError:
        return False
    return True


def _check_data_flow(found: _Collector, workflow: Workflow, known: _Known) -> None:
    flow = _Flow(found, known)
    flow.walk(workflow.order, [], in_loop=False)
    if flow.budget <= 0:
        found.warn(
            None, "the workflow nests or branches too much to check which paths are written before read"
        )
        return
    for op in workflow.operations.values():
        if op.op_id not in flow.reached:
            found.warn(
                op,
                f"operation {op.op_id} is never run: no run order, Conditional or Loop reaches it",
            )
