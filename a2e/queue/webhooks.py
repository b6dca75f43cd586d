"""Webhooks: when a run with a ``callbackUrl`` ends, a signed POST of its outcome.

The delivery row is written in the run's finish transaction, so none is lost; one
sender thread per worker process claims due deliveries and sends them, so a slow or
dead receiver never holds up a run. The body is fixed when the run ends and signed
on every attempt as Stripe does: ``A2E-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256(secret, "<t>.<body>")>``, keyed with the UTF-8 bytes of the agent's webhook
secret. The callback host passes the same allowed-host and address checks as an
ApiCall. Connection errors, timeouts, 5xx and 429 are retried after 2, 5, 15, 45, 120
and 300 s (7 attempts over about 8 minutes); every attempt is kept on the row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from a2e.api.state import AppState
from a2e.audit import actions
from a2e.crypto import SealedValueError, SecretBox
from a2e.engine.http import HttpClient
from a2e.engine.ports import RunFinish
from a2e.errors import A2EError, PermissionDenied
from a2e.store.base import utcnow
from a2e.store.queries import webhooks as queries

log = logging.getLogger("a2e.webhooks")
SIGNATURE_HEADER = "A2E-Signature"
#: Seconds to wait before each retry; len + 1 attempts in all.
RETRY_DELAYS_S = (2, 5, 15, 45, 120, 300)
SEND_TIMEOUT_S = 10.0
#: How long a claimed delivery is kept from other senders (longer than one attempt).
SEND_LEASE_S = 60.0
MAX_RESPONSE_BYTES = 64 * 1024
RETRIED_STATUSES = frozenset({429}) | frozenset(range(500, 600))


def sign(secret: str, timestamp: int, body: str) -> str:
    """The ``A2E-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def delivery_for(execution_id: str, finish: RunFinish) -> str:
    """The JSON body a finished run's callback receives."""
    body: dict[str, Any] = {"execution_id": execution_id, "status": finish.status,
                            "results": finish.results}
    if finish.error is not None:
        body["error"] = finish.error
    body["duration_ms"] = finish.duration_ms
    return json.dumps(body, separators=(",", ":"), default=str)


class WebhookSender:
    """One thread sending due deliveries for this process."""

    def __init__(self, app_state: AppState, http: HttpClient | None = None,
                 poll_s: float | None = None) -> None:
        self.app_state = app_state
        self.db = app_state.db
        self.box = SecretBox(app_state.secret_key)
        self.http = http or HttpClient(max_redirects=0)
        self.poll_s = float(poll_s if poll_s is not None else app_state.settings.queue["poll_s"])
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="a2e-webhooks", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=SEND_TIMEOUT_S + 5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.send_due()
            except Exception:  # the sender must outlive a database outage
                log.exception("webhook sender failed; retrying")
                sent = False
            if not sent:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def send_due(self) -> bool:
        """Send one due delivery, if any; whether there was one."""
        now = utcnow()
        with self.db.connection(write=True, single_statement=True) as conn:
            due = queries.claim_delivery(conn, now, now + timedelta(seconds=SEND_LEASE_S))
        if due is None:
            return False
        attempt = self._attempt(due)
        attempts = [*due.attempts, attempt]
        delivered = attempt["status_code"] is not None and 200 <= attempt["status_code"] < 300
        retry = attempt.get("retry", False) and len(attempts) <= len(RETRY_DELAYS_S)
        finished = utcnow()
        status = "delivered" if delivered else ("pending" if retry else "failed")
        next_at = (finished + timedelta(seconds=RETRY_DELAYS_S[len(attempts) - 1])
                   if status == "pending" else None)
        attempt.pop("retry", None)
        ended = status != "pending"
        with self.db.connection(write=True, single_statement=not ended) as conn:
            queries.record_attempt(conn, due.delivery_id, attempts, status=status,
                                   next_attempt_at=next_at,
                                   delivered_at=finished if delivered else None)
            if ended:
                self._audit(conn, due, status, attempts)
        return True

    def _attempt(self, due: queries.DueDelivery) -> dict[str, Any]:
        started = time.monotonic()
        entry: dict[str, Any] = {"attempt": len(due.attempts) + 1, "at": utcnow().isoformat(),
                                 "status_code": None, "error": None}
        try:
            secret = self._secret(due)
            timestamp = int(time.time())
            response = self.http.send(
                "POST", due.url,
                headers={"Content-Type": "application/json",
                         SIGNATURE_HEADER: sign(secret, timestamp, due.body),
                         "User-Agent": "a2e-webhooks"},
                body=due.body, timeout=SEND_TIMEOUT_S, max_bytes=MAX_RESPONSE_BYTES,
                allowed_hosts=due.allowed_hosts,
            )
            entry["status_code"] = response.status
            entry["retry"] = response.status in RETRIED_STATUSES
        except PermissionDenied as exc:
            entry["error"] = exc.message  # the host is refused: retrying will not help
        except A2EError as exc:
            entry["error"] = exc.message
            entry["retry"] = True
        entry["duration_ms"] = round((time.monotonic() - started) * 1000)
        return entry

    def _secret(self, due: queries.DueDelivery) -> str:
        if due.sealed_secret is None:
            raise PermissionDenied("the agent has no webhook secret")
        try:
            return self.box.open(due.sealed_secret, context=queries.secret_context(due.agent_id))
        except SealedValueError:
            raise PermissionDenied("the agent's webhook secret does not open with this "
                                   "server's secret key") from None

    def _audit(self, conn: Connection, due: queries.DueDelivery, status: str,
               attempts: list[dict[str, Any]]) -> None:
        """The delivery's outcome, in the transaction that records it."""
        sink = self.app_state.services.audit
        delivered = status == "delivered"
        sink.add(
            conn,
            action=actions.WEBHOOK_DELIVERED if delivered else actions.WEBHOOK_FAILED,
            outcome=actions.SUCCESS if delivered else actions.FAILURE,
            actor="server", agent_id=due.agent_id, target=f"run:{due.run_id}",
            request_id=None, client_ip=None,
            details={"attempts": len(attempts), "status_code": attempts[-1]["status_code"]},
        )
