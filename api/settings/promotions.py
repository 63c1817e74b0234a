"""Promotions: how often beat looks for promotion windows that opened or closed."""

from .env import env

# The catalog shows a promotion's start or end at most this late (its prices, caches, search).
PROMOTIONS_REFRESH_SECONDS = env.int("PROMOTIONS_REFRESH_SECONDS", default=60)

# -- periodic tasks: promotions' part of DEFAULT_BEAT_SCHEDULES (composed in base.py) -------------
PROMOTIONS_BEAT_SCHEDULES = {
    "promoted prices refresh": {
        "task": "maintenance.promoted_prices_refresh",
        "every_seconds": PROMOTIONS_REFRESH_SECONDS,
        "description": "Catalog promotions that started or ended: prices, caches and search.",
    },
}
