"""Money reads the same everywhere: the cell footer, %session and the agents dashboard."""

from __future__ import annotations

import pytest

from claude_kernel.render import footer
from oma_contract.money import format_usd


@pytest.mark.parametrize(("amount", "reads"), [
    (0, "$0.00"),
    (None, "$0.00"),
    (0.00001, "< $0.0001"),  # counted, though too small to show: not "$0.0000"
    (0.00005, "$0.0001"),
    (0.0002, "$0.0002"),  # a typical cell
    (0.0011, "$0.0011"),  # a typical session
    (0.01234, "$0.0123"),
    (0.012, "$0.012"),  # trailing zeros dropped...
    (0.5, "$0.50"),  # ...down to cents
    (0.99996, "$1.00"),
    (1, "$1.00"),
    (12.345, "$12.35"),  # from a dollar up, cents are what matters
    (1234.567, "$1,234.57"),
    (-0.5, "-$0.50"),
])
def test_an_amount_reads_with_the_precision_that_matters(amount, reads):
    assert format_usd(amount) == reads


def test_the_cell_footer_shows_the_cost_as_the_dashboard_does():
    assert footer(2, 24, 14, 0.00042, 1.5) == f"2 turns · 24 in / 14 out tokens · {format_usd(0.00042)} · 1.5 s"
    assert "· < $0.0001 ·" in footer(1, 1, 1, 0.000001, 0.5)
