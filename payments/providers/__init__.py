"""Payment providers by name (settings.PAYMENT_PROVIDERS): `get_provider("manual")`."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from payments.providers.base import (
    InvalidProviderEvent,
    PaymentProvider,
    PaymentProviderError,
    ProviderEvent,
    ProviderRefund,
    ProviderResult,
)

__all__ = [
    "InvalidProviderEvent",
    "PaymentProvider",
    "PaymentProviderError",
    "ProviderEvent",
    "ProviderRefund",
    "ProviderResult",
    "get_provider",
    "offline_providers",
    "provider_names",
]


def provider_names() -> list[str]:
    return sorted(settings.PAYMENT_PROVIDERS)


@cache
def _load(path: str) -> PaymentProvider:
    return import_string(path)()


def get_provider(name: str) -> PaymentProvider:
    """The provider registered under `name`; KeyError when there is none."""
    return _load(settings.PAYMENT_PROVIDERS[name])


def offline_providers() -> list[str]:
    """The providers whose money moves outside the shop (bank transfer, cash on delivery)."""
    return [name for name in provider_names() if get_provider(name).offline]
