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


# ISO 4217 currencies with three decimals: a provider counts them in thousandths (Stripe's
# "1.234 KWD" is 1234). The shop keeps amounts to the cent (two decimals), so their thousandths
# end in 0, which is also what Stripe asks of them.
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def minor_unit_exponent(currency: str) -> int:
    """How many decimals a provider's minor unit has for `currency`: 0, 2 or 3."""
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    return 3 if code in THREE_DECIMAL_CURRENCIES else 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The amount in the currency's minor units, as providers count it (JPY 500 -> 500,
    USD 5.00 -> 500, KWD 5.00 -> 5000)."""
    exponent = minor_unit_exponent(currency)
    if exponent == 0:
        return int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return int(quantize(amount) * 10**exponent)


def from_minor_units(amount: int, currency: str) -> Decimal:
    return quantize(Decimal(amount) / 10 ** minor_unit_exponent(currency))
