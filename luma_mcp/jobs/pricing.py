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
        return usd(self.micro_usd)

    def __add__(self, other: Price) -> Price:
        return Price(self.micro_usd + other.micro_usd, self.estimate or other.estimate)


FREE = Price(0)

REFUNDED_FAILURES = frozenset({"content_moderated", "generation_failed", "output_not_found"})
"""Failures the API refunds ("moderated/failed/not-found outputs are refunded")."""


def price_of(
    model: str,
    kind: str,
    *,
    references: int = 0,
    resolution: str | None = None,
    layers: int | None = None,
) -> Price:
    """The price of one generation of `kind` ("image", "image_edit", "layering") with `model`
    and `references` reference images. For layering, `layers` is how many it made (None: not
    known yet, so the worst case of `MAX_LAYERS`)."""
    if kind == "layering":
        per_layer = LAYER_MICRO.get(resolution or "1k", LAYER_MICRO["1k"])
        return Price(per_layer * (MAX_LAYERS if layers is None else layers), estimate=True)
    base = BASE_MICRO.get((model, kind))
    if base is None:  # a model or type this table does not know: say so rather than guess
        return Price(0, estimate=True)
    return Price(base + PER_REFERENCE_MICRO * references)


def request_price(request: GenerationRequest) -> Price:
    """What sending `request` costs (for layering, its worst case)."""
    resolution = request.layering.resolution if request.layering else None
    return price_of(request.model, request.type, references=len(request.image_ref), resolution=resolution)


def settled_price(price: Price, *, state: str, failure_code: str | None) -> Price:
    """What a generation in `state` ends up costing: nothing once a refunded failure."""
    return FREE if state == "failed" and failure_code in REFUNDED_FAILURES else price


def usd(micro_usd: int) -> float:
    """Micro-dollars as dollars (exact: six decimals)."""
    return round(micro_usd / 1_000_000, 6)


def format_micro(micro_usd: int) -> str:
    """Micro-dollars as a price to show, as `format_usd` writes it."""
    return format_usd(usd(micro_usd))


def format_usd(amount: float) -> str:
    """`$0.0404`: four decimals below a dollar (prices are fractions of a cent apart), two above."""
    return f"${amount:.4f}" if amount < 1 else f"${amount:,.2f}"
