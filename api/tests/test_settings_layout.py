"""The settings layout (api/settings/__init__.py): topic modules import only the `env` leaf and
declare their own names; base.py composes RATE_LIMITS, DEFAULT_BEAT_SCHEDULES and
PAYMENT_PROVIDERS from their pieces, so no module changes another's dicts and the order of
base.py's imports does not matter.

1. Walk each topic module's syntax tree: its only import from the package is `.env`.
2. Walk it again: it mutates no name it imported (subscript or attribute assignment, augmented
   assignment, `del`, or a mutating method such as .setdefault/.insert/.update/.append).
3. Collect the UPPERCASE names each module assigns at its top level: no two modules (base.py
   included) assign the same one, which is what makes the star imports' order irrelevant.
4. Import api.settings.base in a fresh interpreter under a chosen environment and check the
   composed settings.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SETTINGS_DIR = ROOT / "api" / "settings"
# Everything else in api/settings/ is a topic module.
NOT_TOPICS = {"__init__", "base", "dev", "test", "prod", "services", "env"}
MUTATING_METHODS = {
    "setdefault",
    "insert",
    "update",
    "append",
    "extend",
    "pop",
    "popitem",
    "remove",
    "clear",
    "add",
    "discard",
}


def topic_modules() -> list[Path]:
    return sorted(path for path in SETTINGS_DIR.glob("*.py") if path.stem not in NOT_TOPICS)


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def package_imports(tree: ast.Module) -> list[str]:
    """Every import from api.settings, as ".module" ("*" for a star import of it)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level > 1:
                found.append(f"{'.' * node.level}{node.module or ''}")
            elif node.module:
                found.append(f".{node.module}")
            else:  # from . import env
                found.extend(f".{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("api.settings"):
            found.append("." + node.module.removeprefix("api.settings").lstrip("."))
        elif isinstance(node, ast.Import):
            found.extend(
                "." + alias.name.removeprefix("api.settings").lstrip(".")
                for alias in node.names
                if alias.name.startswith("api.settings")
            )
    return found


def imported_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def mutations_of_imported_names(tree: ast.Module) -> list[str]:
    """Lines that change an object the module imported instead of one it defined. A star import
    counts too: it brings names the module cannot see."""
    imported = imported_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            found.append(f"{node.lineno}: star import from {'.' * node.level}{node.module or ''}")
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            # Rebinding a plain name is the module's own; RATE_LIMITS |= {...} changes it in place.
            plain_name = isinstance(target, ast.Name) and not isinstance(node, ast.AugAssign)
            if not plain_name and root_name(target) in imported:
                found.append(f"{node.lineno}: {ast.unparse(target)}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATING_METHODS
            and root_name(node.func.value) in imported
        ):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}()")
    return found


def declared_names(tree: ast.Module) -> set[str]:
    """UPPERCASE names assigned at the module's top level (including under a top-level if)."""
    names = set()
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If):
            pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
                names.update(n.id for n in elements if isinstance(n, ast.Name) and n.id.isupper())
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id.isupper()
        ):
            names.add(node.target.id)
    return names


# -- the syntax walks ---------------------------------------------------------------------------


def test_the_walk_sees_the_topic_modules():
    stems = {path.stem for path in topic_modules()}
    assert {"admin", "auth", "orders", "payments", "ratelimit", "search", "storage"} <= stems


def test_topic_modules_import_only_the_env_leaf_from_the_package():
    offenders = {
        path.name: imports
        for path in topic_modules()
        if (imports := [i for i in package_imports(parse(path)) if i != ".env"])
    }
    assert offenders == {}


def test_topic_modules_change_no_name_they_imported():
    offenders = {
        path.name: found
        for path in topic_modules()
        if (found := mutations_of_imported_names(parse(path)))
    }
    assert offenders == {}


def test_the_checks_catch_the_old_layout():
    """What the topic modules used to do, each of which the walks above must report."""
    old = ast.parse(
        "from .auth import RATE_LIMITS\n"
        "from .base import DEFAULT_BEAT_SCHEDULES, MIDDLEWARE, UNFOLD, env\n"
        "from api.settings import orders\n"
        "from .base import *\n"
        "RATE_LIMITS.setdefault('search', None)\n"
        "DEFAULT_BEAT_SCHEDULES['x'] = {}\n"
        "UNFOLD['DASHBOARD_CALLBACK'] = 'x'\n"
        "MIDDLEWARE.insert(0, 'x')\n"
        "orders.PAYMENT_PROVIDERS['stripe'] = 'x'\n"
        "RATE_LIMITS |= {}\n"
        "OWN = {}\n"
        "OWN['fine'] = 1\n"
    )
    assert package_imports(old) == [".auth", ".base", ".", ".base"]
    assert len(mutations_of_imported_names(old)) == 7


def test_no_two_settings_modules_assign_the_same_name():
    modules = {path.name: declared_names(parse(path)) for path in topic_modules()}
    modules["base.py"] = declared_names(parse(SETTINGS_DIR / "base.py"))
    modules["env.py"] = declared_names(parse(SETTINGS_DIR / "env.py"))
    clashes = {
        f"{a} and {b}": sorted(modules[a] & modules[b])
        for a, b in combinations(sorted(modules), 2)
        if modules[a] & modules[b]
    }
    assert clashes == {}
    assert {"RATE_LIMITS", "DEFAULT_BEAT_SCHEDULES", "PAYMENT_PROVIDERS"} <= modules["base.py"]


# -- the composition ------------------------------------------------------------------------------

COMPOSED = (
    "import json\n"
    "from api.settings import base\n"
    "print(json.dumps({name: getattr(base, name) for name in ("
    "'RATE_LIMITS', 'DEFAULT_BEAT_SCHEDULES', 'PAYMENT_PROVIDERS', 'MIDDLEWARE',"
    " 'ADMIN_MIDDLEWARE')}))\n"
)


def composed(**environ: str) -> dict:
    """The composed settings of base.py, imported in a fresh interpreter with only `environ` set."""
    result = subprocess.run(
        [sys.executable, "-c", COMPOSED],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_rate_limits_hold_every_topics_group():
    limits = composed()["RATE_LIMITS"]
    assert set(limits) == {"default", "auth", "health", "checkout", "payments", "search"}
    assert limits["health"] is None
    assert limits["payments"] is None
    assert limits["search"] == {"ip": "600/min", "user": "1200/min"}


def test_the_environment_overrides_a_rate_limit_group_last():
    default = composed()["RATE_LIMITS"]
    overridden = composed(RATE_LIMITS='{"search": {"ip": "60/min"}, "me": null}')["RATE_LIMITS"]
    assert overridden == {**default, "search": {"ip": "60/min"}, "me": None}


def test_default_beat_schedules_hold_every_topics_schedules():
    assert set(composed()["DEFAULT_BEAT_SCHEDULES"]) == {
        "flush-expired-tokens",
        "cancel unpaid orders",
        "low-stock alerts",
        "daily sales report",
        "purge stale carts",
        "reconcile payments",
        "search index consistency",
        "outbox relay",
        "outbox prune",
        "prune idempotency records",
        "prune failed tasks",
        "prune sent emails",
        "prune webhook events",
        "prune search query stats",
        "webhook retries",
        "prune webhook deliveries",
        "promoted prices refresh",
    }


@pytest.mark.parametrize(
    ("environ", "providers"),
    [
        ({}, {"manual", "cod"}),
        ({"STRIPE_SECRET_KEY": "sk_test_x"}, {"manual", "cod"}),
        ({"STRIPE_WEBHOOK_SECRET": "whsec_x"}, {"manual", "cod"}),
        (
            {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"},
            {"manual", "cod", "stripe"},
        ),
    ],
)
def test_stripe_is_a_payment_provider_only_with_both_secrets(environ, providers):
    assert set(composed(**environ)["PAYMENT_PROVIDERS"]) == providers


def test_the_rate_limit_middleware_sits_before_sessions_and_csrf():
    settings = composed()
    middleware = settings["MIDDLEWARE"]
    position = middleware.index("api.ratelimit.RateLimitMiddleware")
    assert middleware[position - 1] == "api.middleware.JsonErrorMiddleware"
    # Sessions and CSRF run inside AdminMiddleware, for the admin's pages only.
    assert position < middleware.index("api.middleware.AdminMiddleware")
    assert {
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    } <= set(settings["ADMIN_MIDDLEWARE"])


def test_the_test_command_collects_every_apps_tests():
    """pytest's testpaths name the folders `scripts/test.sh` collects: an app left out has tests
    that never run (cms and promotions were, for a day)."""
    import tomllib

    pyproject = tomllib.loads((Path(settings.BASE_DIR) / "pyproject.toml").read_text())
    testpaths = set(pyproject["tool"]["pytest"]["ini_options"]["testpaths"])
    with_tests = {
        path.parent.name
        for path in Path(settings.BASE_DIR).glob("*/tests")
        if path.is_dir() and not path.parent.name.startswith(".")
    }
    assert with_tests - testpaths == set()
    assert "e2e" in testpaths
