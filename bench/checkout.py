"""Checkout benchmark (not a test): .venv/bin/python bench/checkout.py [--checkouts 400]

Serves the app as shipped (bench/server.py: `gunicorn -c deploy/gunicorn.conf.py`, production
settings, 2 workers; GUNICORN_THREADS from --threads, 1 as shipped) on its own embedded
PostgreSQL and Redis under .data/bench/ (the catalog benchmark's), and places orders with 16
client threads, each its own connection, every request a real POST /api/checkout of a guest cart
prepared beforehand (one line, quantity 1, a fresh Idempotency-Key), each from its own customer:
its own email and its own address (X-Forwarded-For, the server trusting one proxy as behind
nginx), so the unpaid-order limit's advisory locks and counts are per customer, as in a shop:

  uncontended   every cart holds a different SKU: no two checkouts wait on the same row lock
  hot SKU       every cart holds the same SKU: every checkout queues on that variant's lock

`--same-customer` sends every checkout from one email and one address instead (the method before
2026-12-07's change): then every checkout also queues on that customer's advisory locks, and the
count of their unpaid orders grows with every run on the same database (none is ever paid).

Each case runs once per round (3 rounds by default) and the medians are reported, so load from
elsewhere on the shared machine spreads over both. Besides the rate and latencies it reports the
CPU milliseconds per checkout (bench/server.py process_tree_cpu): gunicorn's processes, PostgreSQL
and Redis (their whole process trees: another client of the same services counts too), and this
client; on a shared machine they drift far less than the rate. It also prints the SQL statements
of one checkout, counted in-process with Django's test client. Tasks the checkouts enqueue go to
the embedded Redis broker (there is no worker) and are purged at the end.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
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
# None of the orders is ever paid, addresses repeat across runs (and with --same-customer every
# checkout comes from one customer): the limit of unpaid orders (3 by default) would refuse
# them, here and in the server.
os.environ.setdefault("ORDER_MAX_UNPAID", "1000000000")

from bench.run import service_pids  # noqa: E402 - after the path above
from bench.server import HEADERS, Server, process_tree_cpu, production_env  # noqa: E402

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
    # CPU milliseconds per checkout: gunicorn's processes, PostgreSQL and Redis, this client.
    server_cpu_ms: float = 0.0
    services_cpu_ms: float = 0.0
    client_cpu_ms: float = 0.0

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


def customers(count: int, *, same: bool) -> list[tuple[str, dict[str, str]]]:
    """(body, headers) of `count` checkouts: each its own customer (an email unique to this run,
    an address of 10.0.0.0/8 from a random start), or all one customer (`same`)."""
    if same:
        return [(json.dumps({"email": "bench@example.com", "shipping_address": ADDRESS}), {})]
    run = uuid.uuid4().int
    return [
        (
            json.dumps(
                {"email": f"bench-{run % 10**9}-{n}@example.com", "shipping_address": ADDRESS}
            ),
            {"X-Forwarded-For": str(ipaddress.IPv4Address(0x0A000000 + (run + n) % 2**24))},
        )
        for n in range(count)
    ]


def load(
    name: str,
    server: Server,
    tokens: list[str],
    concurrency: int,
    services: tuple[int, ...] = (),
    *,
    same_customer: bool = False,
) -> Result:
    """Check out every cart, `concurrency` at a time, each client on a keep-alive connection;
    the CPU time spent meanwhile by the server, the services and this process."""
    port = server.port
    who = customers(len(tokens), same=same_customer)
    lock = threading.Lock()
    queue = list(reversed([(token, who[n % len(who)]) for n, token in enumerate(tokens)]))
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
                token, (body, customer) = queue.pop()
            started = time.perf_counter()
            conn.request(
                "POST",
                "/api/checkout",
                body=body,
                headers={
                    **HEADERS,
                    **customer,
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

    def cpu() -> tuple[float, float, float]:
        return (
            process_tree_cpu(server.process.pid),
            sum(process_tree_cpu(pid) for pid in services),
            time.process_time(),
        )

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    before = cpu()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    per = [(b - a) * 1000 / len(tokens) for a, b in zip(before, cpu(), strict=True)]
    done = len(tokens) - sum(errors.values())
    return Result(name, done, seconds, latencies, errors, *per)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkouts", type=int, default=400, help="Per case and round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="GUNICORN_THREADS (1: sync).")
    parser.add_argument(
        "--same-customer", action="store_true", help="Every checkout from one email and address."
    )
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
            RATE_LIMIT_TRUSTED_PROXIES="1",  # as behind nginx: X-Forwarded-For names the client
            GUNICORN_THREADS=str(args.threads),
        )
        with tempfile.TemporaryDirectory() as tmp:
            server = Server("checkout", env, Path(tmp), args.workers)
            server.wait()
            print(
                f"load: {args.concurrency} client threads, {args.checkouts} checkouts per case and "
                f"round, {args.rounds} rounds; gunicorn -c deploy/gunicorn.conf.py, "
                f"{args.workers} workers x {args.threads} threads, production settings, "
                f"{'one customer' if args.same_customer else 'a customer per checkout'}; "
                f"loadavg before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
            )
            services = tuple(service_pids())
            same = args.same_customer
            load(
                "warmup", server, make_carts(uncontended, 32), args.concurrency, same_customer=same
            )
            boots = server.worker_boots()  # every worker has booted and answered by now
            rounds: dict[str, list[Result]] = {"uncontended": [], "hot SKU": []}
            for _ in range(args.rounds):
                for name, variants in (("uncontended", uncontended), ("hot SKU", [hot])):
                    tokens = make_carts(variants, args.checkouts)
                    rounds[name].append(
                        load(name, server, tokens, args.concurrency, services, same_customer=same)
                    )
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
    print(
        f"\n{'case':<13}{'checkouts/s':>12}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'cpu ms':>8}{'server':>8}{'pg+redis':>9}{'client':>8}  per round"
    )
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
        server = median(r.server_cpu_ms for r in results)
        services = median(r.services_cpu_ms for r in results)
        client = median(r.client_cpu_ms for r in results)
        cpu = median(r.server_cpu_ms + r.services_cpu_ms + r.client_cpu_ms for r in results)
        print(
            f"{name:<13}{rate:>12.1f}{p50:>9.1f}{p99:>9.1f}{cpu:>8.1f}{server:>8.1f}"
            f"{services:>9.1f}{client:>8.1f}  {per_round}  errors: {errors}"
        )
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
