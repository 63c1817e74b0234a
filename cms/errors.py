"""The content API's errors, each with a stable code (api/errors.py renders them)."""

from __future__ import annotations

from api.errors import NotFound


class ContentPageNotFound(NotFound):
    code, message = "content_page_not_found", "No such page."


class MenuNotFound(NotFound):
    code, message = "menu_not_found", "No such menu."
