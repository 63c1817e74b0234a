"""A local stand-in for the part of Stripe's HTTP API the shop uses, for tests and development.

    standin = StripeStandin().start()            # 127.0.0.1, a free port
    settings.STRIPE_API_BASE = standin.url       # the real `stripe` library talks to it
    standin.succeed(intent_id)                   # the customer paid (as Stripe.js would)
    body = standin.event(intent_id, "payment_intent.succeeded")   # a webhook's JSON
    standin.fail_refund(refund_id, "expired_or_canceled_card")    # days later, the card was gone
    body = standin.refund_event(refund_id, "charge.refund.updated")
    standin.stop()

It speaks Stripe's wire format (form-encoded requests with bracketed keys, JSON answers, error
objects) and keeps state: PaymentIntents (create, retrieve, cancel, confirm), refunds (create,
list by payment_intent, retrieve; `fail_refund` fails one later, as Stripe does when the card
was closed; `state.refund_status = "pending"` makes new ones start pending). Like Stripe it
honours Idempotency-Key: the first answer under a key is replayed for every later request with
that key (a different body under the same key is a 400 idempotency_error). Faults are injected
per request path with `fail(...)`: "timeout" processes the request and answers only after
`delay` seconds (the client has given up: the classic "did it happen?"), "500" answers an error
without doing anything. Every request is recorded in `requests` (method, path, idempotency key,
params).

`manage.py stripe_standin` runs it on its own for local development (see docs/payments.md).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[order]=x`, `a[b][c]=y`, `list[0]=z`) to a dict."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


@dataclass
class Recorded:
    method: str
    path: str
    idempotency_key: str | None
    params: dict[str, Any]
    fault: str | None = None


@dataclass
class Fault:
    kind: str  # "timeout" or "500"
    delay: float = 0.0


@dataclass
class State:
    intents: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, int, dict]] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    # What a new refund is at first: "succeeded" (cards, mostly) or "pending" (settles later).
    refund_status: str = "succeeded"


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code=""):
        super().__init__(message)
        self.status, self.body = (
            status,
            {"error": {"type": type, "message": message, **({"code": code} if code else {})}},
        )


class StripeStandin:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        on_event: Callable[[bytes], None] | None = None,
    ) -> None:
        self.state = State()
        self.lock = threading.RLock()
        # Called (on a thread of its own, just after the answer) with the body of the event a
        # state change would make Stripe send: manage.py stripe_standin --forward-to uses it.
        self.on_event = on_event
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: tests read `requests`
                pass

            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def do_DELETE(self) -> None:
                standin._handle(self, "DELETE")

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StripeStandin:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.state = State()

    # -- what tests use -------------------------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        return list(self.state.requests)

    def fail(self, path_prefix: str, *faults: str, delay: float = 2.0) -> None:
        """The next requests to a path starting with `path_prefix` fail, in order: "timeout"
        (done, answered after `delay` s) or "500" (not done)."""
        with self.lock:
            self.state.faults.setdefault(path_prefix, []).extend(Fault(f, delay) for f in faults)

    def succeed(self, intent_id: str, *, amount: int | None = None) -> dict:
        """The customer paid (`amount` received: the intent's own by default)."""
        with self.lock:
            intent = self.state.intents[intent_id]
            received = intent["amount"] if amount is None else amount
            intent.update(
                status="succeeded",
                amount_received=received,
                latest_charge=intent["latest_charge"] or _id("ch"),
                last_payment_error=None,
            )
            return dict(intent)

    def processing(self, intent_id: str) -> dict:
        """The payment is under way (a bank debit clearing): neither paid nor failed yet."""
        with self.lock:
            intent = self.state.intents[intent_id]
            intent.update(status="processing", last_payment_error=None)
            return dict(intent)

    def decline(self, intent_id: str, message: str = "Your card was declined.") -> dict:
        with self.lock:
            intent = self.state.intents[intent_id]
            intent.update(
                status="requires_payment_method",
                last_payment_error={"code": "card_declined", "message": message},
            )
            return dict(intent)

    def refund_in_dashboard(self, intent_id: str, amount: int) -> dict:
        """A refund made at Stripe directly (no metadata of ours)."""
        with self.lock:
            return self._refund_create({"payment_intent": intent_id, "amount": str(amount)})

    def fail_refund(self, refund_id: str, reason: str = "expired_or_canceled_card") -> dict:
        """A refund that fails after Stripe accepted it (the card was closed...): as at Stripe,
        its status becomes failed with a failure_reason and the amount is no longer refunded on
        the charge; Stripe then sends charge.refund.updated (and refund.updated, refund.failed
        on newer API versions)."""
        with self.lock:
            refund = self.state.refunds[refund_id]
            if refund["status"] != "failed":
                self.state.intents[refund["payment_intent"]]["amount_refunded"] -= refund["amount"]
                refund.update(status="failed", failure_reason=reason)
            self._emit_refund(refund_id, "charge.refund.updated")
            return dict(refund)

    def refunds_of(self, intent_id: str) -> list[dict]:
        """The intent's refunds, oldest first."""
        with self.lock:
            return [
                dict(r) for r in self.state.refunds.values() if r["payment_intent"] == intent_id
            ]

    def intent(self, intent_id: str) -> dict:
        with self.lock:
            return dict(self.state.intents[intent_id])

    def event(self, intent_id: str, type: str, *, event_id: str | None = None) -> bytes:
        """A webhook body as Stripe sends it: the object as it is now (charge events carry the
        charge, with the intent's id)."""
        with self.lock:
            intent = dict(self.state.intents[intent_id])
        if type.startswith("charge."):
            obj = {
                "id": intent["latest_charge"] or _id("ch"),
                "object": "charge",
                "payment_intent": intent_id,
                "amount": intent["amount"],
                "amount_refunded": intent["amount_refunded"],
                "currency": intent["currency"],
                "refunded": intent["amount_refunded"] >= intent["amount"],
            }
        else:
            obj = intent
        return self._event_body(obj, type, event_id)

    def refund_event(self, refund_id: str, type: str, *, event_id: str | None = None) -> bytes:
        """A webhook body about a refund (charge.refund.updated, refund.updated, refund.failed):
        the refund as it is now, naming its intent."""
        with self.lock:
            refund = dict(self.state.refunds[refund_id])
        return self._event_body(refund, type, event_id)

    @staticmethod
    def _event_body(obj: dict, type: str, event_id: str | None) -> bytes:
        event = {
            "id": event_id or _id("evt"),
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "livemode": False,
            "type": type,
            "data": {"object": obj},
        }
        return json.dumps(event).encode()

    # -- the HTTP side --------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode() if length else ""
        params = decode_form(body if method == "POST" else url.query)
        key = request.headers.get("Idempotency-Key") if method == "POST" else None
        with self.lock:
            fault = self._next_fault(url.path)
            self.state.requests.append(
                Recorded(method, url.path, key, params, fault.kind if fault else None)
            )
        if fault is not None and fault.kind == "500":
            self._send(request, 500, {"error": {"type": "api_error", "message": "Injected."}})
            return
        status, answer = self._answer(method, url.path, params, key)
        if fault is not None and fault.kind == "timeout":
            time.sleep(fault.delay)  # the work is done; the client stopped waiting
        self._send(request, status, answer)

    def _next_fault(self, path: str) -> Fault | None:
        for prefix, queue in self.state.faults.items():
            if path.startswith(prefix) and queue:
                return queue.pop(0)
        return None

    def _send(self, request: BaseHTTPRequestHandler, status: int, answer: dict) -> None:
        data = json.dumps(answer).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(data)))
            request.send_header("Request-Id", _id("req"))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); Stripe would have done the work all the same

    def _answer(self, method: str, path: str, params: dict, key: str | None) -> tuple[int, dict]:
        with self.lock:
            fingerprint = json.dumps([method, path, params], sort_keys=True)
            if key and key in self.state.idempotent:
                seen, status, answer = self.state.idempotent[key]
                if seen != fingerprint:
                    return 400, ApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters.",
                        type="idempotency_error",
                    ).body
                return status, answer
            try:
                status, answer = 200, self._route(method, path, params)
            except ApiError as exc:
                status, answer = exc.status, exc.body
            if key:
                self.state.idempotent[key] = (fingerprint, status, answer)
            return status, answer

    def _route(self, method: str, path: str, params: dict) -> dict:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "payment_intents"]:
            if len(parts) == 2 and method == "POST":
                return self._intent_create(params)
            intent = self.state.intents.get(parts[2]) if len(parts) > 2 else None
            if intent is None:
                raise ApiError(404, "No such payment_intent", code="resource_missing")
            if len(parts) == 3 and method == "GET":
                return dict(intent)
            if len(parts) == 4 and parts[3] == "cancel":
                if intent["status"] in ("succeeded", "canceled"):
                    raise ApiError(
                        400,
                        "You cannot cancel this PaymentIntent because it has a status of "
                        f"{intent['status']}.",
                        code="payment_intent_unexpected_state",
                    )
                intent.update(status="canceled", canceled_at=int(time.time()))
                self._emit(intent["id"], "payment_intent.canceled")
                return dict(intent)
            if len(parts) == 4 and parts[3] == "confirm":
                if params.get("payment_method") == "pm_card_chargeDeclined":
                    self._emit(intent["id"], "payment_intent.payment_failed")
                    return self.decline(intent["id"])
                self._emit(intent["id"], "payment_intent.succeeded")
                return self.succeed(intent["id"])
        if parts[:2] == ["v1", "refunds"]:
            if len(parts) == 2 and method == "POST":
                return self._refund_create(params)
            if len(parts) == 2 and method == "GET":
                pi = params.get("payment_intent")
                found = [
                    r
                    for r in self.state.refunds.values()
                    if pi is None or r["payment_intent"] == pi
                ]
                return {"object": "list", "data": found[::-1], "has_more": False, "url": path}
            refund = self.state.refunds.get(parts[2])
            if refund is None:
                raise ApiError(404, "No such refund", code="resource_missing")
            return refund
        raise ApiError(404, f"Unrecognized request URL ({method}: {path}).")

    def _intent_create(self, params: dict) -> dict:
        try:
            amount = int(params["amount"])
            currency = params["currency"]
        except (KeyError, ValueError):
            raise ApiError(400, "Missing required param: amount or currency.") from None
        if amount < 1:
            raise ApiError(400, "Amount must be at least 1.", code="amount_too_small")
        pi_id = _id("pi")
        intent = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "amount_refunded": 0,
            "currency": currency.lower(),
            "status": "requires_payment_method",
            "client_secret": f"{pi_id}_secret_{secrets.token_hex(8)}",
            "metadata": params.get("metadata", {}),
            "description": params.get("description"),
            "latest_charge": None,
            "last_payment_error": None,
            "canceled_at": None,
            "created": int(time.time()),
            "livemode": False,
        }
        self.state.intents[pi_id] = intent
        return dict(intent)

    def _refund_create(self, params: dict) -> dict:
        intent = self.state.intents.get(params.get("payment_intent", ""))
        if intent is None:
            raise ApiError(404, "No such payment_intent", code="resource_missing")
        if intent["status"] != "succeeded":
            raise ApiError(400, "This PaymentIntent has no successful charge to refund.")
        left = intent["amount_received"] - intent["amount_refunded"]
        amount = int(params.get("amount") or left)
        if amount < 1 or amount > left:
            raise ApiError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount ({left}).",
                code="amount_too_large",
            )
        intent["amount_refunded"] += amount
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "status": self.state.refund_status,
            "failure_reason": None,
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        self.state.refunds[refund["id"]] = refund
        self._emit(intent["id"], "charge.refunded")
        return refund

    def _emit(self, intent_id: str, type: str) -> None:
        self._later(lambda: self.event(intent_id, type))

    def _emit_refund(self, refund_id: str, type: str) -> None:
        self._later(lambda: self.refund_event(refund_id, type))

    def _later(self, build: Callable[[], bytes]) -> None:
        if self.on_event is not None:
            # Later, off the request: the state change is complete when the event is built.
            timer = threading.Timer(0.2, lambda: self.on_event(build()))
            timer.daemon = True
            timer.start()
