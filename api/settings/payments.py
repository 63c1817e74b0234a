"""Payments: providers and their settings (the manual provider's live in orders.py for now)."""

from .base import env  # noqa: F401
