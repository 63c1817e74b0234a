"""Promotion tasks: thin, safe to run twice (the refresh writes only what differs)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="maintenance.promoted_prices_refresh")
def promoted_prices_refresh_task() -> int:
    """Beat's check for promotion windows that opened or closed (and catalog prices that moved
    under a promotion) since its last run: the catalog's promoted prices are rewritten where they
    differ and those products' caches and search entries refreshed. How many products moved."""
    from promotions.services import promoted_prices_refresh

    return len(promoted_prices_refresh())
