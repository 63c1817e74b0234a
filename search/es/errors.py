"""What the API answers when Elasticsearch cannot: 503 in the one error shape, never a 500."""

from __future__ import annotations

from api.errors import ApiError


class SearchUnavailable(ApiError):
    status, code = 503, "search_unavailable"
    message = "Search is unavailable for a moment; please try again."
