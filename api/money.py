"""Money is Decimal with a currency code, quantised here and nowhere else."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
# ISO 4217 currencies without minor units; Stripe's amounts for them are whole units.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)


def quantize(amount: Decimal | int | str) -> Decimal:
    """Round to cents, half up, as receipts do. Floats are refused: they cannot hold cents."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float")
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str) -> int:
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return int(quantize(amount) * 100)


def from_minor_units(amount: int, currency: str) -> Decimal:
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return quantize(Decimal(amount))
    return quantize(Decimal(amount) / 100)
