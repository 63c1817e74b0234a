"""The import rule (docs/architecture.md, Decisions): project modules are imported at the top of a
module; only a `tasks.py` task imports the service it calls inside its body, which is what lets
services import their tasks at the top. A cycle hidden by an import inside a function is still a
cycle, so this walks every app module's syntax tree and finds none elsewhere."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = (
    "api",
    "core",
    "products",
    "cart",
    "orders",
    "payments",
    "search",
    "webhooks",
    "cms",
    "promotions",
)
# Not app code: entry points that set Django up before importing it, and throwaway scripts.
EXCLUDED_PARTS = {"tests", "migrations", "settings"}


def project_imports_inside_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] in APPS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {function.name}: {name}")
    return found


def app_modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if not EXCLUDED_PARTS & set(path.relative_to(ROOT).parts)
    )


def test_only_tasks_modules_import_project_code_inside_functions():
    offenders = [
        line
        for path in app_modules()
        if path.name != "tasks.py"
        for line in project_imports_inside_functions(path)
    ]
    assert offenders == [], "\n".join(offenders)


def test_the_walk_sees_the_apps():
    assert len(app_modules()) > 100
