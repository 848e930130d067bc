"""What a request costs, from the published price table (CONTRACT.md "Pricing"), in USD.

Images are priced per request: a base by model and type, plus a fixed amount per reference image
(`image_ref`; an edit's `source` is part of its base). Layering has no published price yet: it is
estimated as an edit per layer at 1k and twice that at 2k, so its cost is known only once the
layers are, and is marked an estimate. Sums are kept in micro-dollars, so totals never drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..api import GenerationRequest

PRICE_TABLE_VERSION = "2026-04-01"
"""The price table's date: the docs' table as of the API version this server speaks."""

BASE_MICRO: dict[tuple[str, str], int] = {
    ("uni-1", "image"): 40_400,
    ("uni-1", "image_edit"): 43_400,
    ("uni-1-max", "image"): 100_000,
    ("uni-1-max", "image_edit"): 103_000,
}
"""Micro-dollars per request by (model, type)."""
PER_REFERENCE_MICRO = 3_000
"""Micro-dollars added per reference image."""
LAYER_MICRO = {"1k": 43_400, "2k": 86_800}
"""Micro-dollars per layer, by resolution: an estimate (as an edit per layer, twice at 2k)."""
MAX_LAYERS = 10
"""The most layers a split makes [3p]: its worst case."""


@dataclass(frozen=True)
class Price:
    """What a generation costs."""

    micro_usd: int
    estimate: bool = False
    """True where the table has no published price (layering), or the count of layers is a worst case."""

    @property
    def usd(self) -> float:
        return round(self.micro_usd / 1_000_000, 6)

    def __add__(self, other: Price) -> Price:
        return Price(self.micro_usd + other.micro_usd, self.estimate or other.estimate)


FREE = Price(0)


def price_of(request: GenerationRequest, *, layers: int | None = None) -> Price:
    """The price of one generation of `request`. For layering, `layers` is how many it made (None:
    not known yet, so the worst case of `MAX_LAYERS`)."""
    if request.type == "layering":
        resolution = request.layering.resolution if request.layering else "1k"
        return Price(LAYER_MICRO[resolution] * (MAX_LAYERS if layers is None else layers), estimate=True)
    base = BASE_MICRO[(request.model, request.type)]
    return Price(base + PER_REFERENCE_MICRO * len(request.image_ref))


def format_usd(amount: float) -> str:
    """`$0.0404`: four decimals below a dollar (prices are fractions of a cent apart), two above."""
    return f"${amount:.4f}" if amount < 1 else f"${amount:,.2f}"
