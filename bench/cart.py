"""Cart benchmark (not a test): .venv/bin/python bench/cart.py [--seconds 10] [--oscar URL]

A cart cycle is what one "add to cart" costs a shop: `POST /api/cart/items` (one unit of a
variant) then `GET /api/cart` (the priced cart, every line with its price, stock status and
totals, as the cart page shows it). Serves the app as shipped (bench/server.py, production
settings, 2 sync workers) on the catalog benchmark's embedded services under .data/bench/, with
the checkout benchmark's variants (bench/checkout.py `prepare`).

Each of `--concurrency` client threads is one guest shopper: it opens a cart (`POST /api/cart`,
not timed) and then runs cycles for `--seconds`, adding each of 20 variants in turn (so its cart
grows to 20 lines and each line's quantity by one every 20 cycles, within the cart limits). The
rate is cycles per second over all shoppers; latencies are per cycle (both requests).

With `--oscar URL`, a django-oscar + oscar-api server already running there (docs/benchmarks.md
says how it is built) is loaded alike in the same rounds: a shopper's session (its cookie, from
a first `GET /api/basket/`), then cycles of `POST /api/basket/add-product/` (20 products in
turn) and `GET /api/basket/` (totals; oscar-api links the lines instead of listing them).
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
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from bench.checkout import prepare  # noqa: E402 - after the path above
from bench.run import service_pids  # noqa: E402
from bench.server import HEADERS, Server, process_tree_cpu, production_env  # noqa: E402

LINES = 20  # distinct variants (products) a shopper adds in turn


@dataclass
class Result:
    name: str
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    # CPU milliseconds per cycle: the server's processes and its services (ours only).
    server_cpu_ms: float = 0.0
    services_cpu_ms: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))] if data else 0.0


class Shopper:
    """One client connection and what names its cart: our cart token, or Oscar's session."""

    def __init__(self, base: str) -> None:
        address = urlsplit(base)
        self.conn = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        self.headers = {**HEADERS, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: object = None) -> tuple[int, bytes, object]:
        self.conn.request(
            method, path, body=None if body is None else json.dumps(body), headers=self.headers
        )
        response = self.conn.getresponse()
        data = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            jar = SimpleCookie(cookie)
            self.headers["Cookie"] = "; ".join(f"{k}={v.value}" for k, v in jar.items())
        return response.status, data, response


def emporium_shopper(base: str, variants: list[int]) -> Callable[[int], list[int]]:
    shopper = Shopper(base)
    status, data, _ = shopper.call("POST", "/api/cart")
    if status != 201:
        raise RuntimeError(f"POST /api/cart: {status} {data[:200]!r}")
    shopper.headers["X-Cart-Token"] = json.loads(data)["token"]

    def cycle(n: int) -> list[int]:
        added = shopper.call(
            "POST", "/api/cart/items", {"variant_id": variants[n % LINES], "quantity": 1}
        )
        return [added[0], shopper.call("GET", "/api/cart")[0]]

    return cycle


def oscar_shopper(base: str, products: list[int]) -> Callable[[int], list[int]]:
    shopper = Shopper(base)
    status, data, _ = shopper.call("GET", "/api/basket/")
    if status != 200:
        raise RuntimeError(f"GET /api/basket/: {status} {data[:200]!r}")

    def cycle(n: int) -> list[int]:
        url = f"{base}/api/products/{products[n % LINES]}/"
        added = shopper.call("POST", "/api/basket/add-product/", {"url": url, "quantity": 1})
        return [added[0], shopper.call("GET", "/api/basket/")[0]]

    return cycle


def load(
    name: str,
    make_shopper: Callable[[], Callable[[int], list[int]]],
    seconds: float,
    concurrency: int,
    measured: Server | None = None,
    services: tuple[int, ...] = (),
) -> Result:
    """`concurrency` shoppers cycling for `seconds`; the CPU the server and its services spent."""
    result = Result(name, seconds)
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    stop = threading.Event()

    def client() -> None:
        cycle = make_shopper()
        barrier.wait()
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            statuses = cycle(n)
            elapsed = (time.perf_counter() - started) * 1000
            n += 1
            with lock:
                bad = [s for s in statuses if s >= 300]
                for status in bad:
                    result.errors[status] = result.errors.get(status, 0) + 1
                if not bad:
                    result.latencies_ms.append(elapsed)

    def cpu() -> tuple[float, float]:
        if measured is None:
            return (0.0, 0.0)
        return (
            process_tree_cpu(measured.process.pid),
            sum(process_tree_cpu(pid) for pid in services),
        )

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    before, started = cpu(), time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    cycles = max(len(result.latencies_ms), 1)
    result.server_cpu_ms, result.services_cpu_ms = (
        (b - a) * 1000 / cycles for a, b in zip(before, cpu(), strict=True)
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="Per case and round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--oscar", metavar="URL", help="A django-oscar + oscar-api server.")
    args = parser.parse_args()

    from api import runtime

    server = None
    try:
        variants, _hot = prepare(LINES)
        from django.conf import settings

        env = production_env(
            settings.SERVICES.environ(),
            # One address sends everything: a limit no run reaches keeps the limiter's work.
            RATE_LIMITS=json.dumps({"default": {"ip": "100000/s", "user": "100000/s"}}),
        )
        with tempfile.TemporaryDirectory() as tmp:
            server = Server("cart", env, Path(tmp), args.workers)
            server.wait()
            print(
                f"load: {args.concurrency} shoppers, {args.seconds:g} s per case and round, "
                f"{args.rounds} rounds; gunicorn -c deploy/gunicorn.conf.py, {args.workers} "
                f"workers, production settings; loadavg before: {os.getloadavg()[0]:.2f} on "
                f"{os.cpu_count()} cores"
            )
            services = tuple(service_pids())
            cases: dict[str, Callable[[], Callable[[int], list[int]]]] = {
                "emporium": lambda: emporium_shopper(server.base, variants)
            }
            if args.oscar:
                base = args.oscar.rstrip("/")
                cases["oscar"] = lambda: oscar_shopper(base, list(range(1, LINES + 1)))
            for make in cases.values():
                load("warmup", make, 2, args.concurrency)
            boots = server.worker_boots()  # both workers have answered by now
            rounds: dict[str, list[Result]] = {name: [] for name in cases}
            for _ in range(args.rounds):
                for name, make in cases.items():
                    measured = server if name == "emporium" else None
                    rounds[name].append(
                        load(name, make, args.seconds, args.concurrency, measured, services)
                    )
            print(
                f"loadavg after: {os.getloadavg()[0]:.2f}; worker restarts during the run: "
                f"{server.worker_boots() - boots}"
            )
            report(rounds)
    finally:
        if server is not None:
            server.stop()
        runtime.stop_owned()
    return 0


def report(rounds: dict[str, list[Result]]) -> None:
    median = statistics.median
    print(
        f"\n{'case':<10}{'cycles/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'server ms':>10}"
        f"{'services ms':>12}  errors  cycles/s per round"
    )
    for name, results in rounds.items():
        errors: dict[int, int] = {}
        for r in results:
            for status, count in r.errors.items():
                errors[status] = errors.get(status, 0) + count
        cpu = f"{median(r.server_cpu_ms for r in results):>10.2f}" if name == "emporium" else ""
        services = (
            f"{median(r.services_cpu_ms for r in results):>12.2f}" if name == "emporium" else ""
        )
        print(
            f"{name:<10}{median(r.rate for r in results):>9.1f}"
            f"{median(r.pct(0.5) for r in results):>8.1f}"
            f"{median(r.pct(0.99) for r in results):>8.1f}"
            f"{cpu:>10}{services:>12}  {errors or 0!s:<6}  "
            + " ".join(f"{r.rate:.0f}" for r in results)
        )
    if "oscar" in rounds:
        ours, theirs = (median(r.rate for r in rounds[n]) for n in ("emporium", "oscar"))
        times = ours / theirs
        print(f"\nemporium / oscar: {times:.2f}x (target 4x: {'ok' if times >= 4 else 'MISSED'})")


if __name__ == "__main__":
    sys.exit(main())
