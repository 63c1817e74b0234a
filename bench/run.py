"""Catalog read benchmark (not a test): .venv/bin/python bench/run.py [--products 5000]

Seeds N products (4 variants each) into its own embedded PostgreSQL and Redis under
.data/bench/, serves the app with gunicorn (2 sync workers on 127.0.0.1) twice over, once with
the catalog cache on and once with it off, and loads each case with wrk at concurrency 8:

  floor        a bare Ninja endpoint returning a constant 2 KB JSON (bench/urls.py only)
  list         GET /api/catalog/products, page_size 20 (pages, sorts, category filters)
  detail       GET /api/catalog/products/{slug} over 200 products
  tree         GET /api/catalog/categories

"cold" runs against the server with CATALOG_CACHE_ENABLED=0 (every request builds its answer
from the database); "warm" against the one with the cache on, every path requested once first.
Every case runs once per round (3 rounds of 5 s by default), between two runs of the floor; its
ratio is taken against the mean of those two, and the medians over the rounds are reported, so a
drift of the machine's speed (a third within a run, on this shared VM) cancels out.

Why wrk: the load generator shares the 2 cores with the server, so it must cost little per
request; wrk (C, epoll, one thread) takes a few percent of a core where a Python client would
take most of one and cap the figures it measures. `apt-get install wrk` (Debian) provides it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

TARGETS = {"list cold": 0.08, "list warm": 0.50, "detail cold": 0.10, "detail warm": 0.50}


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(products: int, variants: int, reseed: bool) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from products.models import Product, Variant
    from products.seed import seed_catalog

    call_command("migrate", interactive=False, verbosity=0)
    wanted = (products, products * variants)
    have = (Product.objects.count(), Variant.objects.count())
    if reseed or have != wanted:
        started = time.perf_counter()
        report = seed_catalog(products=products, variants=variants, seed=42, reset=True)
        print(f"{report.summary()} in {time.perf_counter() - started:.1f} s")
        from django.db import connection

        # What autovacuum would have done by the time a real shop serves traffic.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        print(f"reusing the seeded catalog: {have[0]} products, {have[1]} variants")


def sample_paths() -> dict[str, list[str]]:
    from products.models import Category
    from products.visibility import visible_products

    rng = random.Random(7)
    slugs = list(visible_products().values_list("slug", flat=True))
    leaf_slugs = list(Category.objects.filter(depth=2).values_list("slug", flat=True))
    lists = [f"/api/catalog/products?page_size=20&page={n}" for n in range(1, 11)]
    lists += [f"/api/catalog/products?page_size=20&sort=price&page={n}" for n in range(1, 6)]
    lists += [f"/api/catalog/products?page_size=20&category={s}" for s in leaf_slugs[:10]]
    lists += [
        "/api/catalog/products?page_size=20&in_stock=true&sort=rating",
        "/api/catalog/products?page_size=20&category=apparel&color=black",
    ]
    return {
        "floor": ["/bench/floor"],
        "list": lists,
        "detail": [f"/api/catalog/products/{s}" for s in rng.sample(slugs, min(200, len(slugs)))],
        "tree": ["/api/catalog/categories"],
    }


class Server:
    def __init__(self, name: str, cache: bool, env: dict[str, str], log_dir: Path):
        self.name = name
        self.port = free_port()
        self.log = open(log_dir / f"gunicorn-{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our app
            [
                sys.executable,
                "-m",
                "gunicorn",
                "bench.wsgi:application",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**env, "CATALOG_CACHE_ENABLED": "1" if cache else "0"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited; see its log")
            try:
                with urllib.request.urlopen(self.base + "/api/health/live", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.name} did not answer in {timeout} s")

    def get_all(self, paths: list[str]) -> None:
        for p in paths:
            with urllib.request.urlopen(self.base + p, timeout=30) as response:  # noqa: S310
                if response.status != 200:
                    raise RuntimeError(f"{p}: {response.status}")
                response.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def wrk(
    name: str, server: Server, paths: list[str], seconds: int, connections: int, tmp: Path
) -> Result:
    path_file = tmp / f"{name.replace(' ', '-')}.txt"
    path_file.write_text("\n".join(paths) + "\n")
    output = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk") or "/usr/bin/wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench" / "paths.lua"),
            server.base,
        ],
        env={**os.environ, "BENCH_PATHS": str(path_file)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in output.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[len("BENCH ") :])
    return Result(
        name=name,
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["socket_errors"] + data["non_2xx"],
    )


def report(rounds: dict[str, list[Result]], ratios: dict[str, list[float]]) -> None:
    """Medians over the rounds. A case's ratio is taken against the floor measured just before
    and just after it (their mean), then the median over the rounds: the machine's speed drifts
    by a third within a run here, and a floor measured a minute earlier would say more about the
    drift than about the case."""
    median = statistics.median
    print(
        f"\n{'case':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs floor':>10}  "
        f"{'target':<12}{'errors':>6}  req/s per round (ratio)"
    )
    for name, results in rounds.items():
        rps = median(r.rps for r in results)
        ratio = median(ratios[name])
        target = TARGETS.get(name)
        verdict = (
            "" if target is None else f">={target:.0%} {'ok' if ratio >= target else 'MISSED'}"
        )
        per_round = (
            f"{len(results)} runs, {min(r.rps for r in results):.0f} to "
            f"{max(r.rps for r in results):.0f}"
            if name == "floor"
            else " ".join(
                f"{r.rps:.0f} ({q:.0%})" for r, q in zip(results, ratios[name], strict=True)
            )
        )
        print(
            f"{name:<14}{rps:>9.1f}{median(r.p50_ms for r in results):>9.2f}"
            f"{median(r.p99_ms for r in results):>9.2f}{ratio:>10.1%}  {verdict:<12}"
            f"{sum(r.errors for r in results):>6}  {per_round}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=5, help="Per case and round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--reseed", action="store_true", help="Seed again even if present.")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2

    from api import runtime

    servers: list[Server] = []
    try:
        prepare(args.products, args.variants, args.reseed)
        from django.conf import settings

        paths = sample_paths()
        env = {
            **os.environ,
            **settings.SERVICES.environ(),
            # All the load comes from one address: a per-second limit no run reaches keeps the
            # limiter's Redis round trip in every request without answering 429s.
            "RATE_LIMITS": json.dumps({"default": {"ip": "100000/s", "user": "100000/s"}}),
            "PYTHONUNBUFFERED": "1",
        }
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            warm = Server("cache-on", True, env, tmp)
            cold = Server("cache-off", False, env, tmp)
            servers = [warm, cold]
            for server in servers:
                server.wait()
            print(
                f"load: wrk, 1 thread, {args.connections} connections, {args.seconds} s per "
                f"case and round, {args.rounds} rounds; gunicorn 2 sync workers; "
                f"loadavg before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
            )
            wrk("warmup", warm, paths["floor"], 2, args.connections, tmp)
            wrk("warmup", cold, paths["tree"], 2, args.connections, tmp)
            cases = []
            for key in ("list", "detail", "tree"):
                cases += [(f"{key} cold", cold, key), (f"{key} warm", warm, key)]
            rounds: dict[str, list[Result]] = {"floor": [], **{name: [] for name, *_ in cases}}
            ratios: dict[str, list[float]] = {name: [] for name in rounds}

            def floor() -> Result:
                result = wrk("floor", warm, paths["floor"], args.seconds, args.connections, tmp)
                rounds["floor"].append(result)
                return result

            for _ in range(args.rounds):
                before = floor()
                ratios["floor"].append(1.0)
                for name, server, key in cases:
                    if server is warm:
                        server.get_all(paths[key])  # every path cached before a warm run
                    result = wrk(name, server, paths[key], args.seconds, args.connections, tmp)
                    after = floor()
                    rounds[name].append(result)
                    ratios[name].append(result.rps / ((before.rps + after.rps) / 2))
                    before = after
            ratios["floor"] = [1.0] * len(rounds["floor"])
            report(rounds, ratios)
    finally:
        for server in servers:
            server.stop()
        runtime.stop_owned()
    return 0


if __name__ == "__main__":
    sys.exit(main())
