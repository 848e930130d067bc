"""What the tools return as structured content: each model is a tool's `outputSchema`. Field
descriptions are for the model reading the result. Image bytes never appear here."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..store.records import HistoryEntry


class LayerInfo(BaseModel):
    """One layer of a split; any further key the API sends about it is kept as it came."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    index: int = Field(description="Position from the front: 0 is the front-most layer, the last is the background.")
    label: str = Field(description="What the layer holds, e.g. subject or background.")
    description: str = Field(description="A longer description of the layer.")
    alpha_hint: str = Field(description="Edge transparency: soft (hair, glass), hard (solid edges) or none (opaque).")


class OutputInfo(BaseModel):
    """One image of a generation."""

    model_config = ConfigDict(defer_build=True)

    index: int = Field(description="Position among the generation's outputs, from 0.")
    url: str = Field(description="Download URL; it expires, get_generation gives a fresh one.")
    url_expires_at: str | None = Field(description="When url stops working (UTC, ISO 8601).")
    path: str | None = Field(
        description="Where the image was saved, if it was: a path on this machine, or s3://bucket/key in the "
        "server's bucket."
    )
    link: str | None = Field(
        default=None,
        description="For an image saved in the server's bucket: a link of our own to it, working until "
        "link_expires_at (get_generation gives a fresh one).",
    )
    link_expires_at: str | None = Field(default=None, description="When link stops working (UTC, ISO 8601).")
    media_type: str | None = Field(description="MIME type of the saved image.")
    width: int | None = Field(description="Width in pixels.")
    height: int | None = Field(description="Height in pixels.")
    size_bytes: int | None = Field(description="Size of the saved file in bytes.")
    layer: LayerInfo | None = Field(default=None, description="For split_into_layers: what this layer holds.")
    error: str | None = Field(default=None, description="Why the image was not saved, if it was not.")


class GenerationInfo(BaseModel):
    """Where a generation stands, what it cost, and what to do next."""

    model_config = ConfigDict(defer_build=True)

    generation_id: str = Field(description="Id to wait on, look up, or edit from (source: {generation_id}).")
    state: Literal["queued", "processing", "completed", "failed"] = Field(description="Where the job is.")
    model: str = Field(description="The model that made it.")
    type: str = Field(description="image, image_edit or layering.")
    prompt: str | None = Field(description="The prompt, when this server submitted it.")
    created_at: str = Field(description="When the job was submitted (UTC, ISO 8601).")
    outputs: list[OutputInfo] = Field(description="The finished images (a split: its layers); empty until completed.")
    failure_code: str | None = Field(description="Why it failed, as the API's code.")
    failure_reason: str | None = Field(description="Why it failed, in words.")
    retryable: bool | None = Field(description="For a failure: may the same request succeed if sent again.")
    waited_seconds: float | None = Field(description="How long this call waited for the job.")
    next_step: str = Field(description="What to do next.")
    warnings: list[str] = Field(description="Things the user should know, e.g. images saved in a temporary folder.")
    reused: bool = Field(
        description="True when an identical request made just before is returned instead of paying again."
    )
    cost_usd: float | None = Field(
        default=None,
        description="What it costs in USD, from the published prices: 0 when an identical earlier request's "
        "generation is returned; for several generations, their total. None where it cannot be told.",
    )
    cost_is_estimate: bool = Field(
        default=False,
        description="True where no price is published (a split, priced per layer) or the count is not known yet "
        "(a split not finished counts 10 layers).",
    )


class GenerationResult(GenerationInfo):
    """Where a generation stands, what it cost, and what to do next. For several generations
    answered together (count > 1, or several generation_ids), `generations` lists each one."""

    generations: list[GenerationInfo] = Field(
        default_factory=list[GenerationInfo],
        description="For several generations answered together: each one, in order. The fields above then speak "
        "of the first, but for state, cost_usd, next_step and warnings, which speak of the whole set.",
    )


class GenerationList(BaseModel):
    """Generations this server has made, most recent first by creation time."""

    model_config = ConfigDict(defer_build=True)

    generations: list[HistoryEntry] = Field(description="Each with its prompt, state and saved files.")
    next_offset: int | None = Field(
        default=None, description="Pass it as offset for the next (older) page; None when this page is the last."
    )
    warnings: list[str] = Field(default_factory=list[str], description="What could not be read, if anything.")
    next_step: str = Field(description="What to do next.")


class UploadResult(BaseModel):
    """An image uploaded with the Files API, ready to use as an input."""

    model_config = ConfigDict(defer_build=True)

    file_id: str = Field(description='Use it as an image input: {"file_id": "..."}, as often as needed.')
    media_type: str = Field(description="MIME type of the image.")
    size_bytes: int = Field(description="Size in bytes.")
    sha256: str = Field(description="SHA-256 of the bytes.")
    reused: bool = Field(description="True when the same image was uploaded earlier and that file is reused.")
    next_step: str = Field(description="What to do next.")


class CallCost(BaseModel):
    """One generating call of the past and what it spent."""

    model_config = ConfigDict(defer_build=True)

    at: str = Field(description="When it was made (UTC, ISO 8601).")
    tool: str = Field(description="generate_image, edit_image or split_into_layers.")
    model: str = Field(description="The model it asked for.")
    cost_usd: float = Field(description="What it spent: its price once settled, else what it reserved.")
    settled: bool = Field(
        description="False while a job was not seen finished (it counts at its reservation: a split at 10 layers)."
    )
    cost_is_estimate: bool = Field(description="True where no price is published (a split).")
    generation_ids: list[str] = Field(description="Its jobs (none for a call whose answer was lost).")


class SpendingResult(BaseModel):
    """What this key has spent, against its caps, from this server's records (shared by every copy on
    the same store)."""

    model_config = ConfigDict(defer_build=True)

    day: str = Field(description="Today (UTC), YYYY-MM-DD.")
    today_usd: float = Field(description="Spent today (UTC): settled prices, and reservations not yet settled.")
    month_usd: float = Field(description="Spent this month (UTC), likewise.")
    daily_cap_usd: float | None = Field(description="LUMA_MCP_BUDGET_DAILY_USD; None: no cap.")
    monthly_cap_usd: float | None = Field(description="LUMA_MCP_BUDGET_MONTHLY_USD; None: no cap.")
    daily_left_usd: float | None = Field(description="What today's cap leaves; None: no cap.")
    monthly_left_usd: float | None = Field(description="What this month's cap leaves; None: no cap.")
    confirm_above_usd: float | None = Field(
        description="Calls above this price are confirmed first (LUMA_MCP_CONFIRM_ABOVE_USD); None: never."
    )
    recent_calls: list[CallCost] = Field(description="The last calls, most recent first.")
    prices: dict[str, float] = Field(description="The price table, USD per request: model/type, and extras.")
    price_table_version: str = Field(description="The date of the price table.")
