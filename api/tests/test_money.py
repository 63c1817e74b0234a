from decimal import Decimal

import pytest

from api.money import from_minor_units, quantize, to_minor_units


def test_quantize_rounds_half_up_to_cents():
    assert quantize(Decimal("19.995")) == Decimal("20.00")
    assert quantize(Decimal("19.994")) == Decimal("19.99")
    assert quantize("3") == Decimal("3.00")


def test_float_is_refused():
    with pytest.raises(TypeError):
        quantize(19.99)


def test_minor_units_round_trip():
    assert to_minor_units(Decimal("19.99"), "usd") == 1999
    assert from_minor_units(1999, "USD") == Decimal("19.99")
    assert to_minor_units(Decimal("1500"), "JPY") == 1500
    assert from_minor_units(1500, "JPY") == Decimal("1500.00")
