"""What get_spending answers, and the running total a generating call's `_meta.spending` carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mcp_types import CallToolResult, TextContent

from ..config import Settings
from ..jobs.pricing import (
    BASE_MICRO,
    LAYER_MICRO,
    PER_REFERENCE_MICRO,
    PRICE_TABLE_VERSION,
    format_micro,
    format_usd,
    usd,
)
from ..jobs.spending import SpendingSummary
from ..store.base import Caps, Totals
from .result_models import CallCost, SpendingResult


def _usd(micro_usd: int | None) -> float | None:
    return None if micro_usd is None else usd(micro_usd)


def _left(cap: int | None, spent: int) -> float | None:
    return None if cap is None else _usd(max(cap - spent, 0))


def price_table() -> dict[str, float]:
    """The published table, USD: per request by model/type, per reference image, per layer (estimated)."""
    prices = {f"{model}/{kind}": usd(micro) for (model, kind), micro in BASE_MICRO.items()}
    prices["per reference image"] = usd(PER_REFERENCE_MICRO)
    prices |= {f"uni-1/layering, per layer at {size} (estimate)": usd(micro) for size, micro in LAYER_MICRO.items()}
    return prices


def running_total(totals: Totals, caps: Caps) -> dict[str, Any]:
    """`_meta.spending` of a generating call: what this key spent today and this month, and the caps."""
    return {
        "today_usd": _usd(totals.day_micro),
        "month_usd": _usd(totals.month_micro),
        "daily_cap_usd": _usd(caps.daily_micro),
        "monthly_cap_usd": _usd(caps.monthly_micro),
    }


def _of(spent: int, cap: int | None) -> str:
    if cap is None:
        return f"{format_micro(spent)} (no cap)"
    left = format_micro(max(cap - spent, 0))
    return f"{format_micro(spent)} of {format_micro(cap)} (left {left})"


def spending_result(summary: SpendingSummary, settings: Settings) -> CallToolResult:
    totals, caps = summary.totals, summary.caps
    calls = [
        CallCost(
            at=datetime.fromtimestamp(call.at, UTC).isoformat().replace("+00:00", "Z"),
            tool=call.tool,
            model=call.model,
            cost_usd=usd(call.micro_usd),
            settled=call.settled,
            cost_is_estimate=call.estimate,
            generation_ids=list(call.generations),
        )
        for call in summary.calls
    ]
    result = SpendingResult(
        day=summary.day,
        today_usd=usd(totals.day_micro),
        month_usd=usd(totals.month_micro),
        daily_cap_usd=_usd(caps.daily_micro),
        monthly_cap_usd=_usd(caps.monthly_micro),
        daily_left_usd=_left(caps.daily_micro, totals.day_micro),
        monthly_left_usd=_left(caps.monthly_micro, totals.month_micro),
        confirm_above_usd=settings.confirm_above_usd,
        recent_calls=calls,
        prices=price_table(),
        price_table_version=PRICE_TABLE_VERSION,
    )
    lines = [
        f"Spent today ({summary.day}, UTC): {_of(totals.day_micro, caps.daily_micro)}; "
        f"this month: {_of(totals.month_micro, caps.monthly_micro)}.",
    ]
    if settings.confirm_above_usd is not None:
        lines.append(f"Calls above {format_usd(settings.confirm_above_usd)} are confirmed first.")
    if calls:
        lines.append("Last calls, most recent first:")
    for call in calls:
        state = "" if call.settled else ", reserved until a look sees it finish"
        estimate = " (estimate)" if call.cost_is_estimate else ""
        lines.append(f"- {call.at} {call.tool} {call.model}: {format_usd(call.cost_usd)}{estimate}{state}")
    lines.append(
        f"Prices (table {PRICE_TABLE_VERSION}): "
        + ", ".join(f"{name} {format_usd(usd)}" for name, usd in result.prices.items())
        + "."
    )
    return CallToolResult(
        content=[TextContent(text="\n".join(lines))], structured_content=result.model_dump(mode="json")
    )
