"""Decimal rendering in the venue's style.

The venue prints every decimal as a string that keeps a trailing ``.0`` on whole numbers (``"110427.0"``,
``"0.0"``), never uses an exponent, and rounds USDC amounts to 6 decimals (``"10.582271"``) and ratios to 8
(``"-0.00756643"``); see the real clearinghouseState and userFills captures. Keeping these rules in one
place is what makes every response look the same as the captures.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN
from decimal import Decimal

USD_QUANTUM = Decimal("0.000001")
_DEC8_QUANTUM = Decimal("0.00000001")
ZERO = Decimal(0)


def dec(value: Decimal) -> str:
    """``Decimal`` → venue string: no exponent, no trailing zeros beyond one ``.0``, no ``-0``."""
    if value == 0:
        return "0.0"
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def usd(value: Decimal) -> str:
    return dec(value.quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN))


def dec8(value: Decimal) -> str:
    return dec(value.quantize(_DEC8_QUANTUM, rounding=ROUND_HALF_EVEN))


def plain(value: Decimal) -> str:
    """The canonical form clients sign (``float_to_wire``): no trailing zeros at all (``"42651"``)."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")
