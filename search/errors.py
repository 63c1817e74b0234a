"""Errors of the search routes, each with a stable code (api/errors.py renders them); the
Elasticsearch backend's own are in search/es/errors.py."""

from api.errors import InvalidInput


class InvalidPriceRange(InvalidInput):
    code, message = "invalid_price_range", "price_min is above price_max."
