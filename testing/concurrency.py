"""Real concurrent requests for the race tests: client threads released together by a barrier,
each checkout from its own customer.

Each checkout carries its own email and, through X-Forwarded-For (the server trusts one proxy
hop), its own client address. Checkout takes a lock per email and per address (the unpaid-order
limits, orders/checkout.py): requests that all came from buyer@example.com at 127.0.0.1 would
queue on those locks one by one, and a race test would pass without the row locks it is there
to prove. Distinct customers share only what the test makes them share: a SKU, a coupon, a
promotion.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.db import connections

from testing.factories import ADDRESS

# The server's environment for these tests: the client address is the one X-Forwarded-For names.
SERVER_ENV = {"RATE_LIMIT_TRUSTED_PROXIES": "1"}


def concurrently(calls: list[Callable]) -> list:
    """Run every call at once (released by a barrier), each in its own thread; their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=60)
            return call()
        finally:
            connections.close_all()  # the thread's own database connection, if it used one

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def customer_address(key: str) -> str:
    """A client address of its own for each key (the same key, the same customer)."""
    digest = hashlib.sha256(key.encode()).digest()
    return f"10.{digest[0]}.{digest[1]}.{digest[2]}"


def post_checkout(
    base: str, *, token: str, key: str | None = None, body: dict | None = None
) -> Callable[[], tuple[int, dict]]:
    """One checkout as a careful client makes it, from its own customer (module docstring): a
    dropped connection (a busy machine can reset one of 200 simultaneous ones) is retried with
    the same Idempotency-Key, which is safe."""
    key = key or uuid.uuid4().hex
    body = body or {"email": f"buyer-{key[:12]}@example.com", "shipping_address": ADDRESS}
    headers = {
        "Idempotency-Key": key,
        "X-Cart-Token": token,
        "X-Forwarded-For": customer_address(key),
    }

    def call() -> tuple[int, dict]:
        for attempt in range(3):
            try:
                with httpx.Client(base_url=base, timeout=120) as http:
                    response = http.post("/api/checkout", json=body, headers=headers)
                    return response.status_code, response.json()
            except httpx.TransportError:
                if attempt == 2:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    return call
