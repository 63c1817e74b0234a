"""Checkout benchmark (not a test): .venv/bin/python bench/checkout.py [--checkouts 400]

Serves the app as shipped (bench/server.py: `gunicorn -c deploy/gunicorn.conf.py`, production
settings, 2 workers; GUNICORN_THREADS from --threads, 1 as shipped) on its own embedded
PostgreSQL and Redis under .data/bench/ (the catalog benchmark's), and places orders with 16
client threads, each its own connection, every request a real POST /api/checkout of a guest cart
prepared beforehand (one line, quantity 1, a fresh Idempotency-Key):

  uncontended   every cart holds a different SKU: no two checkouts wait on the same row lock
  hot SKU       every cart holds the same SKU: every checkout queues on that variant's lock

Each case runs once per round (3 rounds by default) and the medians are reported, so load from
elsewhere on the shared machine spreads over both. It also prints the SQL statements of one
checkout, counted in-process with Django's test client. Tasks the checkouts enqueue go to the
embedded Redis broker (there is no worker) and are purged at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
# Every checkout comes from one address and one email, and none is paid: the limit of unpaid
# orders (3 by default) would refuse all but the first three, here and in the server.
os.environ.setdefault("ORDER_MAX_UNPAID", "1000000000")

from bench.server import HEADERS, Server, production_env  # noqa: E402 - after the path above

ADDRESS = {
    "first_name": "Bench",
    "last_name": "Mark",
    "street_address_1": "1 Load Street",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
}
STOCK = 10_000_000


@dataclass
class Result:
    name: str
    checkouts: int
    seconds: float
    latencies_ms: list[float]
    errors: dict[int, int]

    @property
    def rate(self) -> float:
        return self.checkouts / self.seconds

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))] if data else 0.0


def prepare(uncontended_skus: int) -> tuple[list[int], int]:
    """Variants to sell (created once, topped up each run): the uncontended SKUs and the hot one."""
    import django

    django.setup()
    from decimal import Decimal

    from django.core.management import call_command

    from products import services
    from products.models import Category, Variant

    call_command("migrate", interactive=False, verbosity=0)
    category, _ = Category.objects.get_or_create(slug="bench-checkout", defaults={"name": "Bench"})
    have = list(
        Variant.objects.filter(sku__startswith="BENCH-CO-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    wanted = uncontended_skus + 1
    for n in range(len(have), wanted):
        services.product_create(
            name=f"Bench checkout {n}",
            slug=f"bench-checkout-{n}",
            category_id=category.pk,
            base_price=Decimal("19.99"),
            variants=[{"sku": f"BENCH-CO-{n}", "low_stock_threshold": 0}],
        )
    have = list(
        Variant.objects.filter(sku__startswith="BENCH-CO-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # Topped up through the ledger, as a stock count would be.
    services.stock_adjust_many(
        changes=[services.StockChange(pk, quantity=STOCK) for pk in have],
        reason="adjustment",
        reference="bench",
        notify=False,
    )
    return have[1:wanted], have[0]


def make_carts(variant_ids: list[int], count: int) -> list[str]:
    """`count` guest carts (round-robin over the variants); their tokens."""
    from cart.models import Cart, CartLine, cart_token_hash, new_cart_token

    tokens = [new_cart_token() for _ in range(count)]
    carts = Cart.objects.bulk_create(Cart(token_hash=cart_token_hash(t)) for t in tokens)
    CartLine.objects.bulk_create(
        CartLine(
            cart=cart,
            variant_id=variant_ids[n % len(variant_ids)],
            quantity=1,
            unit_price_at_add="19.99",
        )
        for n, cart in enumerate(carts)
    )
    return tokens


def count_queries(variant_id: int) -> list[str]:
    """The statements of one checkout, as Django runs them (in this process)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    (token,) = make_carts([variant_id], 1)
    with CaptureQueriesContext(connection) as queries:
        response = Client(HTTP_HOST="localhost").post(
            "/api/checkout",
            {"email": "bench@example.com", "shipping_address": ADDRESS},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            HTTP_X_CART_TOKEN=token,
        )
    if response.status_code != 201:
        raise RuntimeError(f"checkout failed: {response.status_code} {response.content[:300]!r}")
    return [q["sql"] for q in queries]


def load(name: str, port: int, tokens: list[str], concurrency: int) -> Result:
    """Check out every cart, `concurrency` at a time, each client on a keep-alive connection."""
    body = json.dumps({"email": "bench@example.com", "shipping_address": ADDRESS})
    lock = threading.Lock()
    queue = list(reversed(tokens))
    latencies: list[float] = []
    errors: dict[int, int] = {}
    barrier = threading.Barrier(concurrency + 1)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        while True:
            with lock:
                if not queue:
                    break
                token = queue.pop()
            started = time.perf_counter()
            conn.request(
                "POST",
                "/api/checkout",
                body=body,
                headers={
                    **HEADERS,
                    "Content-Type": "application/json",
                    "Idempotency-Key": uuid.uuid4().hex,
                    "X-Cart-Token": token,
                },
            )
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status != 201:
                    errors[response.status] = errors.get(response.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return Result(name, len(tokens) - sum(errors.values()), seconds, latencies, errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkouts", type=int, default=400, help="Per case and round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="GUNICORN_THREADS (1: sync).")
    args = parser.parse_args()

    from api import runtime

    server = None
    try:
        uncontended, hot = prepare(args.checkouts)
        from django.conf import settings

        statements = count_queries(uncontended[0])
        env = production_env(
            settings.SERVICES.environ(),
            RATE_LIMITS=json.dumps({"checkout": None}),
            GUNICORN_THREADS=str(args.threads),
        )
        with tempfile.TemporaryDirectory() as tmp:
            server = Server("checkout", env, Path(tmp), args.workers)
            server.wait()
            boots = server.worker_boots()
            print(
                f"load: {args.concurrency} client threads, {args.checkouts} checkouts per case and "
                f"round, {args.rounds} rounds; gunicorn -c deploy/gunicorn.conf.py, "
                f"{args.workers} workers x {args.threads} threads, production settings; "
                f"loadavg before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
            )
            load("warmup", server.port, make_carts(uncontended, 32), args.concurrency)
            rounds: dict[str, list[Result]] = {"uncontended": [], "hot SKU": []}
            for _ in range(args.rounds):
                for name, variants in (("uncontended", uncontended), ("hot SKU", [hot])):
                    tokens = make_carts(variants, args.checkouts)
                    rounds[name].append(load(name, server.port, tokens, args.concurrency))
            print(
                f"loadavg after: {os.getloadavg()[0]:.2f}; worker restarts during the run: "
                f"{server.worker_boots() - boots}"
            )
            report(rounds, statements)
    finally:
        if server is not None:
            server.stop()
        try:
            from api.celery import app

            app.control.purge()  # the confirmation emails nobody will send
        except Exception as exc:  # the figures are printed; a leftover queue is harmless
            print(f"(could not purge the broker: {exc})")
        runtime.stop_owned()
    return 0


def report(rounds: dict[str, list[Result]], statements: list[str]) -> None:
    median = statistics.median
    print(f"\n{'case':<13}{'checkouts/s':>12}{'p50 ms':>9}{'p99 ms':>9}  per round")
    for name, results in rounds.items():
        per_round = " ".join(f"{r.rate:.0f}" for r in results)
        by_status: dict[int, int] = {}
        for r in results:
            for status, count in r.errors.items():
                by_status[status] = by_status.get(status, 0) + count
        errors = ", ".join(f"{n} x {status}" for status, n in sorted(by_status.items())) or "0"
        p50 = median(r.pct(0.5) for r in results)
        p99 = median(r.pct(0.99) for r in results)
        rate = median(r.rate for r in results)
        print(f"{name:<13}{rate:>12.1f}{p50:>9.1f}{p99:>9.1f}  {per_round}  errors: {errors}")
    savepoints = sum("SAVEPOINT" in s for s in statements)
    frames = sum(s.strip().upper() in ("BEGIN", "COMMIT") for s in statements)
    print(
        f"\nSQL statements in one checkout: {len(statements)} = {frames} BEGIN/COMMIT + "
        f"{savepoints} SAVEPOINT/RELEASE + {len(statements) - frames - savepoints} queries"
    )
    for n, sql in enumerate(statements, 1):
        print(f"  {n:>2}. {' '.join(sql.split())[:110]}")


if __name__ == "__main__":
    sys.exit(main())
