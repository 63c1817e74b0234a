"""Feature walk-through against a running server; each issue adds its flow as steps.

Every step prints PASS or FAIL with what it saw; the exit status is the number of failures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable

import httpx

STEPS: list[tuple[str, Callable[[httpx.Client, dict], str]]] = []


def step(name: str):
    def register(func: Callable[[httpx.Client, dict], str]):
        STEPS.append((name, func))
        return func

    return register


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def error_shape(response: httpx.Response) -> dict:
    body = response.json()
    expect({"code", "message", "details"} <= set(body), f"not the error shape: {body}")
    return body


@step("health: live and ready")
def health(client: httpx.Client, state: dict) -> str:
    live = client.get("/api/health/live")
    expect(live.status_code == 200, f"live answered {live.status_code}")
    # The checks need the metrics token (or DEBUG without one, as scripts/dev.sh runs).
    token = os.environ.get("METRICS_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    ready = client.get("/api/health/ready", headers=headers)
    body = ready.json()
    expect(ready.status_code == 200, f"ready answered {ready.status_code}: {body}")
    checks = body.get("checks")
    if not checks:
        return f"{body['status']} (set METRICS_TOKEN for each check)"
    return ", ".join(f"{name} {check['status']}" for name, check in checks.items())


@step("docs: Swagger UI, ReDoc and the schema, without a CDN")
def docs(client: httpx.Client, state: dict) -> str:
    for path in ("/api/docs", "/api/redoc"):
        page = client.get(path)
        expect(page.status_code == 200, f"{path} answered {page.status_code}")
        expect("cdn" not in page.text.lower(), f"{path} loads assets from a CDN")
    for asset in ("ninja/swagger-ui-bundle.js", "ninja/redoc.standalone.js"):
        served = client.get(f"/static/{asset}")
        expect(served.status_code == 200, f"/static/{asset} answered {served.status_code}")
    schema = client.get("/api/openapi.json").json()
    state["operations"] = sum(len(methods) for methods in schema["paths"].values())
    return f"{len(schema['paths'])} paths, {state['operations']} operations"


@step("errors: unknown route, wrong method, one JSON shape")
def errors(client: httpx.Client, state: dict) -> str:
    missing = client.get(f"/api/no-such-route-{uuid.uuid4().hex[:6]}")
    expect(missing.status_code == 404, f"unknown route answered {missing.status_code}")
    codes = [error_shape(missing)["code"]]
    wrong = client.delete("/api/health/live")
    expect(wrong.status_code == 405, f"DELETE answered {wrong.status_code}")
    codes.append(error_shape(wrong)["code"])
    return " ".join(codes)


@step("request id: echoed when sane, replaced when not")
def request_id(client: httpx.Client, state: dict) -> str:
    sent = f"feature-{uuid.uuid4().hex[:8]}"
    echoed = client.get("/api/health/live", headers={"X-Request-ID": sent})
    expect(echoed.headers.get("X-Request-ID") == sent, "request id not echoed")
    replaced = client.get("/api/health/live", headers={"X-Request-ID": "bad id\twith tab"})
    expect(replaced.headers.get("X-Request-ID") not in (None, "bad id\twith tab"), "bad id kept")
    return f"echoed {sent}"


@step("admin: the login page answers")
def admin(client: httpx.Client, state: dict) -> str:
    page = client.get("/admin/login/")
    expect(page.status_code == 200 and "Emporium" in page.text, f"admin {page.status_code}")
    return "Unfold login page"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "base_url", nargs="?", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
    )
    parser.add_argument("--only", help="Run only the steps whose name contains this text.")
    args = parser.parse_args()
    state: dict = {}
    failures = 0
    with httpx.Client(base_url=args.base_url, timeout=30) as client:
        for name, func in STEPS:
            if args.only and args.only not in name:
                continue
            started = time.perf_counter()
            try:
                detail = func(client, state)
                outcome = "PASS"
            except (AssertionError, httpx.HTTPError, KeyError, ValueError) as exc:
                detail, outcome = f"{type(exc).__name__}: {exc}", "FAIL"
                failures += 1
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{outcome}  {name} ({elapsed:.0f} ms): {detail}")
    print(f"\n{len(STEPS)} steps, {failures} failed")
    return failures


if __name__ == "__main__":
    sys.exit(main())
