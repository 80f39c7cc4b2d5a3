"""What a request costs: a price table in US dollars per million tokens, per model.

A model takes the entry of the longest name it starts with, so one entry
covers its dated versions (claude-sonnet-4-5-20250929, claude-sonnet-4-5@20250929);
'*' prices any other model. The defaults are Anthropic's list prices; an
unknown model is priced as Opus, so a budget is never spent more slowly than
the bill grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("input", "output", "cache_write", "cache_read")


def _price(input_usd: float, output_usd: float) -> dict[str, float]:
    # Anthropic's rule: a cache write costs 1.25 times the input price (5-minute cache), a cache read 0.1 times.
    return {"input": input_usd, "output": output_usd, "cache_write": round(input_usd * 1.25, 6),
            "cache_read": round(input_usd * 0.1, 6)}


DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "claude-opus-4-5": _price(5, 25),
    "claude-opus-4-1": _price(15, 75),
    "claude-opus-4": _price(15, 75),
    "claude-sonnet-4-5": _price(3, 15),
    "claude-sonnet-4": _price(3, 15),
    "claude-3-7-sonnet": _price(3, 15),
    "claude-haiku-4-5": _price(1, 5),
    "claude-3-5-haiku": _price(0.8, 4),
    "*": _price(15, 75),
}


def check_prices(table: Any) -> dict[str, dict[str, float]]:
    """The table if every entry names its four prices as amounts >= 0; ValueError saying which is not."""
    if not isinstance(table, dict) or not table:
        raise ValueError("the price table must be a JSON object of models")
    checked: dict[str, dict[str, float]] = {}
    for model, prices in table.items():
        if not isinstance(prices, dict) or set(prices) != set(KINDS):
            raise ValueError(f"the prices of {model!r} must give exactly {', '.join(KINDS)}")
        for kind, amount in prices.items():
            if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 <= amount < 1e6:
                raise ValueError(f"the {kind} price of {model!r} must be US dollars per million tokens, not {amount!r}")
        checked[str(model)] = {kind: float(prices[kind]) for kind in KINDS}
    if "*" not in checked:
        checked["*"] = DEFAULT_PRICES["*"]
    return checked


@dataclass(frozen=True)
class Usage:
    """The tokens one request used, as the model reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @property
    def any(self) -> bool:
        return bool(self.input_tokens or self.output_tokens or self.cache_creation_input_tokens
                    or self.cache_read_input_tokens)


class PriceTable:
    def __init__(self, table: dict[str, dict[str, float]] | None = None) -> None:
        self.table = check_prices(table) if table else dict(DEFAULT_PRICES)
        self._names = sorted((name for name in self.table if name != "*"), key=len, reverse=True)

    def prices_of(self, model: str) -> dict[str, float]:
        return next((self.table[name] for name in self._names if model.startswith(name)), self.table["*"])

    def cost_usd(self, model: str, usage: Usage) -> float:
        price = self.prices_of(model)
        return (usage.input_tokens * price["input"] + usage.output_tokens * price["output"]
                + usage.cache_creation_input_tokens * price["cache_write"]
                + usage.cache_read_input_tokens * price["cache_read"]) / 1_000_000
