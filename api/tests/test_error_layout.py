"""Every domain error lives in its app's errors.py: a class with a stable code, a status and a
default message (`class SkuTaken(Conflict)`), raised by name. This walks every app module's syntax
tree and finds no generic error given a code inline (`Conflict(..., code="sku_taken")`) outside
the errors.py modules, and no code declared by two classes.

`InvalidInput.for_field(..., code=...)` is the field-error helper and is not flagged: its code
names the kind of one field's error (`invalid_image`, `email_required`)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from api.tests.test_import_rule import ROOT, app_modules

GENERIC = {
    "ApiError",
    "BadRequest",
    "NotAuthenticated",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "PayloadTooLarge",
    "InvalidInput",
}
# The Stripe stand-in server raises its own ApiError (Stripe's error body), not the API's.
EXEMPT = {Path("payments/stripe_standin.py")}


def inline_codes(source: str) -> list[tuple[int, str]]:
    """(line, class name) of each call of a generic error class with a `code` keyword."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in GENERIC and any(keyword.arg == "code" for keyword in node.keywords):
            found.append((node.lineno, name))
    return sorted(found)


def declared_codes(source: str) -> list[tuple[str, str]]:
    """(class name, code) of each class that assigns `code` (alone or with message) a string."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        for statement in node.body:
            if not isinstance(statement, ast.Assign):
                continue
            for target in statement.targets:
                names, values = [target], [statement.value]
                if isinstance(target, ast.Tuple) and isinstance(statement.value, ast.Tuple):
                    names, values = target.elts, statement.value.elts
                for name, value in zip(names, values, strict=False):
                    if isinstance(name, ast.Name) and name.id == "code":
                        found.append((node.name, ast.literal_eval(value)))
    return found


def errors_modules() -> list[Path]:
    return [path for path in app_modules() if path.name == "errors.py"]


def test_no_generic_error_is_given_a_code_outside_the_errors_modules():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {name}(..., code=...)"
        for path in app_modules()
        if path.name != "errors.py" and path.relative_to(ROOT) not in EXEMPT
        for line, name in inline_codes(path.read_text())
    ]
    assert offenders == [], "define these in the app's errors.py:\n" + "\n".join(offenders)


def test_each_code_is_declared_by_one_class():
    declared = [
        (f"{path.relative_to(ROOT)} {name}", code)
        for path in errors_modules()
        for name, code in declared_codes(path.read_text())
    ]
    twice = {code for code, n in Counter(code for _where, code in declared).items() if n > 1}
    assert sorted(where for where, code in declared if code in twice) == []


def test_the_walk_sees_the_errors_modules_and_their_classes():
    apps = {path.relative_to(ROOT).parts[0] for path in errors_modules()}
    assert apps == {
        *("api", "core", "products", "cart", "orders", "payments", "search"),
        *("cms", "promotions", "webhooks"),
    }
    codes = {code for path in errors_modules() for _name, code in declared_codes(path.read_text())}
    assert {"sku_taken", "page_not_found", "address_not_found", "invalid_filter"} <= codes


def test_the_check_tells_an_inline_code_from_a_class_and_the_field_helper():
    source = (
        'raise Conflict("These SKUs are already used.", code="sku_taken")\n'
        'raise errors.NotFound("No such product.", code="product_not_found")\n'
        'raise SkuTaken(details={"skus": found})\n'
        'raise NotFound("Not found.")\n'
        'raise InvalidInput.for_field("file", message, code="invalid_image")\n'
    )
    assert inline_codes(source) == [(1, "Conflict"), (2, "NotFound")]
    assert declared_codes('class A(Conflict):\n    code, message = "a", "A."\n') == [("A", "a")]
