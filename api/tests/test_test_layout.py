"""The tests' layout (conftest.py at the root): shared factories in testing/factories.py, each
app's fixtures in its tests/fixtures.py, all registered once by the root conftest.py. An app's tests
reach another app's test support through a fixture or the testing package, never by importing that
app's tests package; this walks every test module's syntax tree and finds no such import."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def support_modules() -> list[Path]:
    return sorted(
        [
            *ROOT.glob("*/tests/**/*.py"),
            *(ROOT / "e2e").rglob("*.py"),
            *(ROOT / "testing").rglob("*.py"),
            ROOT / "conftest.py",
        ]
    )


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_no_module_imports_another_apps_tests_package():
    offenders = []
    for path in support_modules():
        parts = path.relative_to(ROOT).parts
        own = parts[0] if parts[1:2] == ("tests",) else None  # e2e/ and testing/: no app's
        for line, module in imported_modules(ast.parse(path.read_text(), filename=str(path))):
            names = module.split(".")
            if names[1:2] == ["tests"] and names[0] != own:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == [], "\n".join(offenders)


def test_every_fixtures_module_is_registered_once_by_the_root_conftest():
    tree = ast.parse((ROOT / "conftest.py").read_text())
    (registered,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["pytest_plugins"]
    ]
    fixtures_modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in [*ROOT.glob("*/tests/fixtures.py"), ROOT / "testing" / "fixtures.py"]
    }
    assert sorted(registered) == sorted(fixtures_modules)
    assert len(set(registered)) == len(registered)


def test_each_factory_and_helper_is_defined_once():
    defined = Counter(
        node.name
        for path in support_modules()
        for node in ast.parse(path.read_text()).body
        if (isinstance(node, ast.ClassDef) and node.name.endswith("Factory"))
        or (isinstance(node, ast.FunctionDef) and node.name in {"bearer", "staff_user"})
    )
    assert [name for name, count in defined.items() if count > 1] == []
    assert defined["UserFactory"] == 1


def test_the_walk_sees_the_tests():
    assert len(support_modules()) > 80
