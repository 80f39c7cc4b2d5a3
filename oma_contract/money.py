"""How an amount of money (US dollars) reads, the same in every place that shows one.

A notebook cell costs fractions of a cent, so a figure rounded to cents reads
"$0.00" and looks as if nothing was counted. The rule, one for the cell footer,
``%session`` and the agents dashboard, so the same amount always reads the same:

- nothing: ``$0.00``;
- under a dollar: to a hundredth of a cent (``$0.0011``), trailing zeros
  dropped down to cents (``$0.50``, ``$0.012``);
- an amount too small for that but not nothing: ``< $0.0001``;
- a dollar and up: to the cent, with thousands separated (``$1,234.57``).
"""

from __future__ import annotations

SMALLEST_SHOWN = 0.0001  # a hundredth of a cent: what four decimals can show


def format_usd(amount: float | int | None) -> str:
    """``amount`` US dollars as a person reads it (None: nothing spent)."""
    amount = float(amount or 0.0)
    if amount < 0:  # costs never are (the contract says so); a refund would read like this
        return "-" + format_usd(-amount)
    if amount == 0:
        return "$0.00"
    if amount < SMALLEST_SHOWN / 2:  # would round to $0.0000
        return "< $0.0001"
    if round(amount, 4) < 1:
        whole, _, fraction = f"{amount:.4f}".rstrip("0").partition(".")
        return f"${whole}.{fraction.ljust(2, '0')}"
    return f"${amount:,.2f}"
