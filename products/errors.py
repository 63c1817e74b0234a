"""The catalog's errors, each with a stable code (api/errors.py renders them)."""

from __future__ import annotations

from typing import Any

from api.errors import Conflict


class InsufficientStock(Conflict):
    """Fewer units than asked, for one variant or several.

    `lines`: one dict per short variant (variant_id, sku, requested, available, and what else the
    caller knows, e.g. in_cart). details.lines lists them all; with a single line its fields are
    also at the top of details, where a cart or stock route's client reads them.
    """

    code = "insufficient_stock"

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        first = lines[0]
        details: dict[str, Any] = {"lines": lines}
        if len(lines) == 1:
            details.update(first)
        super().__init__(f"Only {first['available']} of {first['sku']} in stock.", details=details)
