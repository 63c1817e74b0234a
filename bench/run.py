"""Catalog read benchmark (not a test): .venv/bin/python bench/run.py [--products 25000]

Seeds N products (4 variants each) into its own embedded PostgreSQL and Redis under
.data/bench/ and serves the app as shipped (bench/server.py: `gunicorn -c
deploy/gunicorn.conf.py`, production settings, 2 workers on 127.0.0.1) three times over: with no
middleware at all (the bare floor only), with the catalog cache on, and with it off. It loads
each case with wrk at concurrency 8:

  floor             a bare Ninja endpoint returning a constant 2 KB JSON, no middleware at all:
                    Django, Ninja and gunicorn alone (bench/bare_settings.py)
  middleware floor  the same endpoint at /api/bench/floor on the production server: every
                    middleware an API route passes, the rate limiter's Redis round trip included
  list              GET /api/catalog/products, page_size 20 (pages, sorts, category filters)
  detail            GET /api/catalog/products/{slug} over 200 products
  tree              GET /api/catalog/categories

"cold" runs against the server with CATALOG_CACHE_ENABLED=0 (every request builds its answer
from the database); "warm" against the one with the cache on, every path requested once first.
Every case runs once per round (3 rounds of 5 s by default), between two runs of the bare
floor; its ratio is taken against the mean of those two, and the medians over the rounds are
reported with their range, so a drift of the machine's speed (a third within a run, on this
shared VM) cancels out. Worker restarts during the run are counted from gunicorn's logs.

With `--oscar URL` it also loads a django-oscar + oscar-api server already running there with
the same catalog size (built outside this repository: docs/benchmarks.md says how), between the
same floors: its list (`/api/products/?page=N`, 20 titles and links a page), its API product
page (`/api/products/ID/`) and its HTML product page (`/catalogue/product-ID_ID/`); the
uncached targets then use those figures instead of the issue's.

Why wrk: the load generator shares the 2 cores with the server, so it must cost little per
request; wrk (C, epoll, one thread) takes a few percent of a core where a Python client would
take most of one and cap the figures it measures. `apt-get install wrk` (Debian) provides it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from bench.server import Server, process_tree_cpu, production_env  # noqa: E402 - after the path

# Throughput as a share of the bare floor of the same run (issue 17). The uncached targets are
# Oscar's figures in the run that issue quotes, as shares of that run's bare floor (3,786/s):
# its shallow list 376/s (9.9%), eight times its product page 8 x 61/s (12.9%).
TARGETS = {"list cold": 0.099, "list warm": 0.60, "detail cold": 0.129, "detail warm": 0.60}
# With --oscar: the uncached targets as multiples of Oscar's figures in the same run.
OSCAR_TARGETS = {"list cold": ("oscar list", 1), "detail cold": ("oscar page, html", 8)}


class External:
    """A server this benchmark did not start (--oscar): loaded alike, its CPU not counted."""

    process = None

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def worker_boots(self) -> int:
        return 0


def oscar_paths(products: int) -> dict[str, list[str]]:
    """Oscar's ids run from 1 to `products` (its seed), 20 to a page, newest first."""
    rng = random.Random(7)
    ids = rng.sample(range(1, products + 1), min(200, products))
    pages = max(1, products // 20)
    return {
        "oscar list": [f"/api/products/?page={rng.randint(1, pages)}" for _ in range(200)],
        "oscar page": [f"/api/products/{i}/" for i in ids],
        "oscar page, html": [f"/catalogue/product-{i}_{i}/" for i in ids],
    }


# p99 of every warm case, in milliseconds.
WARM_P99_MS = 20.0


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    # CPU time per request: the server's processes, and everything (server, Redis, PostgreSQL,
    # wrk), in microseconds.
    server_cpu_us: float = 0.0
    cpu_us: float = 0.0


def service_pids() -> list[int]:
    """Redis's and PostgreSQL's (postmaster) process ids, whose CPU time counts too."""
    from django.db import connection
    from django_redis import get_redis_connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return [get_redis_connection("default").info("server")["process_id"], postmaster]


def prepare(products: int, variants: int, reseed: bool) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from products.models import Product, Variant
    from products.seed import seed_catalog

    call_command("migrate", interactive=False, verbosity=0)
    wanted = (products, products * variants)
    # The checkout and cart benchmarks add their own products to the same database: not a
    # reason to seed again.
    catalog = Product.objects.exclude(slug__startswith="bench-checkout-")
    have = (catalog.count(), Variant.objects.filter(product__in=catalog).count())
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
        "middleware": ["/api/bench/floor"],
        "list": lists,
        "detail": [f"/api/catalog/products/{s}" for s in rng.sample(slugs, min(200, len(slugs)))],
        "tree": ["/api/catalog/categories"],
    }


def wrk(
    name: str,
    server: Server,
    paths: list[str],
    seconds: int,
    connections: int,
    tmp: Path,
    services: tuple[int, ...] = (),
) -> Result:
    path_file = tmp / f"{name.replace(' ', '-')}.txt"
    path_file.write_text("\n".join(paths) + "\n")

    def cpu() -> tuple[float, float, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the wrk runs waited for
        return (
            process_tree_cpu(server.process.pid) if server.process else 0.0,
            sum(process_tree_cpu(pid) for pid in services),
            children.ru_utime + children.ru_stime,
        )

    before = cpu()
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
    spent = [b - a for a, b in zip(before, cpu(), strict=True)]
    line = next(x for x in output.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[len("BENCH ") :])
    requests = max(data["requests"], 1)
    return Result(
        name=name,
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["socket_errors"] + data["non_2xx"],
        server_cpu_us=spent[0] / requests * 1e6,
        cpu_us=sum(spent) / requests * 1e6,
    )


def report(
    rounds: dict[str, list[Result]],
    ratios: dict[str, list[float]],
    cpu_ratios: dict[str, list[float]],
    workers: int,
) -> None:
    """Medians over the rounds. A case's ratio is taken against the bare floor measured just
    before and just after it (their mean), then the median over the rounds, with their range:
    the machine's speed drifts by a third within a run here, and a floor measured a minute
    earlier would say more about the drift than about the case.

    The CPU columns: microseconds of CPU per request, in the server's processes and in all of
    them (server, Redis, PostgreSQL, wrk); "cpu ratio" is the bare floor's total over the case's,
    what the throughput ratio would be on a machine that ran nothing else."""
    median = statistics.median
    targets = dict(TARGETS)
    for case, (oscar, times) in OSCAR_TARGETS.items():
        if oscar in rounds:
            targets[case] = median(ratios[oscar]) * times
    print(
        f"\n{'case':<18}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'vs floor':>9}{'range':>10}"
        f"{'cpu us':>8}{'server':>8}{'cpu ratio':>10}  {'target':<22}{'errors':>6}  "
        "req/s per round"
    )
    for name, results in rounds.items():
        ratio = median(ratios[name])
        target = targets.get(name)
        p99 = median(r.p99_ms for r in results)
        verdicts = []
        if target is not None:
            verdicts.append(f">={target:.0%} {'ok' if ratio >= target else 'MISSED'}")
        if name.endswith(" warm"):
            worst = max(r.p99_ms for r in results)
            verdicts.append(f"p99<{WARM_P99_MS:.0f} {'ok' if worst < WARM_P99_MS else 'MISSED'}")
        spread = f"{min(ratios[name]):.0%}-{max(ratios[name]):.0%}"
        print(
            f"{name:<18}{median(r.rps for r in results):>7.0f}"
            f"{median(r.p50_ms for r in results):>8.2f}{p99:>8.2f}{ratio:>9.1%}{spread:>10}"
            f"{median(r.cpu_us for r in results):>8.0f}"
            f"{median(r.server_cpu_us for r in results):>8.0f}"
            f"{median(cpu_ratios[name]) if cpu_ratios[name] else math.nan:>10.1%}"
            f"  {' '.join(verdicts):<22}"
            f"{sum(r.errors for r in results):>6}  {' '.join(f'{r.rps:.0f}' for r in results)}"
        )
    # Each of the `workers` processes answers one request at a time: per request it spent
    # workers / rps seconds, so the difference of the two floors is what the middleware adds.
    bare = median(r.rps for r in rounds["floor"])
    stack = median(r.rps for r in rounds["middleware floor"])
    bare_cpu = median(r.server_cpu_us for r in rounds["floor"])
    stack_cpu = median(r.server_cpu_us for r in rounds["middleware floor"])
    print(
        f"\nmiddleware: {median(ratios['middleware floor']):.1%} of the bare floor, "
        f"{workers * (1 / stack - 1 / bare) * 1e6:.0f} us per request per worker "
        f"({workers / bare * 1e6:.0f} us at the bare floor); server CPU {stack_cpu - bare_cpu:.0f}"
        f" us per request more ({bare_cpu:.0f} us at the bare floor)"
    )
    for case, oscar in (
        ("list cold", "oscar list"),
        ("detail cold", "oscar page"),
        ("detail cold", "oscar page, html"),
    ):
        if oscar in rounds:
            times = median(ratios[case]) / median(ratios[oscar])
            goal = OSCAR_TARGETS[case][1] if OSCAR_TARGETS[case][0] == oscar else None
            print(
                f"{case} / {oscar}: {times:.2f}x"
                + (f" (target {goal}x: {'ok' if times >= goal else 'MISSED'})" if goal else "")
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=25000)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=5, help="Per case and round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY of each server.")
    parser.add_argument("--reseed", action="store_true", help="Seed again even if present.")
    parser.add_argument("--json", type=Path, help="Also write every round's figures here.")
    parser.add_argument(
        "--oscar", metavar="URL", help="A django-oscar + oscar-api server to load alike."
    )
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
        # All the load comes from one address: a per-second limit no run reaches keeps the
        # limiter's Redis round trip in every request without answering 429s.
        limits = json.dumps({"default": {"ip": "100000/s", "user": "100000/s"}})
        services = settings.SERVICES.environ()
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)

            def server(name: str, **env: str) -> Server:
                started = Server(name, production_env(services, **env), tmp, args.workers)
                servers.append(started)
                return started

            bare = server("bare", DJANGO_SETTINGS_MODULE="bench.bare_settings")
            warm = server("cache-on", CATALOG_CACHE_ENABLED="1", RATE_LIMITS=limits)
            cold = server("cache-off", CATALOG_CACHE_ENABLED="0", RATE_LIMITS=limits)
            for started in servers:
                started.wait()
            print(
                f"load: wrk, 1 thread, {args.connections} connections, {args.seconds} s per "
                f"case and round, {args.rounds} rounds; gunicorn -c deploy/gunicorn.conf.py, "
                f"{args.workers} workers, production settings; "
                f"loadavg before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
            )
            pids = tuple(service_pids())
            wrk("warmup", bare, paths["floor"], 2, args.connections, tmp)
            wrk("warmup", warm, paths["middleware"], 2, args.connections, tmp)
            wrk("warmup", cold, paths["tree"], 2, args.connections, tmp)
            cases = [("middleware floor", warm, "middleware")]
            for key in ("list", "detail", "tree"):
                cases += [(f"{key} cold", cold, key), (f"{key} warm", warm, key)]
            if args.oscar:
                oscar = External(args.oscar)
                paths.update(oscar_paths(args.products))
                cases += [(name, oscar, name) for name in oscar_paths(1)]
            rounds: dict[str, list[Result]] = {"floor": [], **{name: [] for name, *_ in cases}}
            ratios: dict[str, list[float]] = {name: [] for name in rounds}
            cpu_ratios: dict[str, list[float]] = {name: [] for name in rounds}
            boots = {s.name: s.worker_boots() for s in servers}

            def floor() -> Result:
                result = wrk(
                    "floor", bare, paths["floor"], args.seconds, args.connections, tmp, pids
                )
                rounds["floor"].append(result)
                return result

            for _ in range(args.rounds):
                before = floor()
                for name, target, key in cases:
                    if target is warm:
                        target.get_all(paths[key])  # every path cached before a warm run
                    result = wrk(
                        name, target, paths[key], args.seconds, args.connections, tmp, pids
                    )
                    after = floor()
                    rounds[name].append(result)
                    ratios[name].append(result.rps / ((before.rps + after.rps) / 2))
                    if not isinstance(target, External):  # its own CPU is not counted
                        cpu_ratios[name].append((before.cpu_us + after.cpu_us) / 2 / result.cpu_us)
                    before = after
            ratios["floor"] = cpu_ratios["floor"] = [1.0] * len(rounds["floor"])
            restarts = {s.name: s.worker_boots() - boots[s.name] for s in servers}
            print(
                f"\nloadavg after: {os.getloadavg()[0]:.2f}; worker restarts during the run: "
                + ", ".join(f"{name} {count}" for name, count in restarts.items())
            )
            report(rounds, ratios, cpu_ratios, args.workers)
            if args.json:
                args.json.write_text(
                    json.dumps(
                        {
                            "rounds": {k: [asdict(r) for r in v] for k, v in rounds.items()},
                            "ratios": ratios,
                            "cpu_ratios": cpu_ratios,
                            "restarts": restarts,
                        },
                        indent=1,
                    )
                )
    finally:
        for started in servers:
            started.stop()
        runtime.stop_owned()
    return 0


if __name__ == "__main__":
    sys.exit(main())
