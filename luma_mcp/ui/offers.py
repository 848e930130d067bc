"""The paid actions the view offers on an image, each priced from the published table
(`jobs/pricing.py`) and ready to send: the view shows the price on the button, asks once, then
calls `tool` with `arguments` (and the prompt typed, where one is needed). The server decides what
each action sends, so the view knows nothing of the tools' schemas or of prices."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..jobs.pricing import Price, price_of
from ..tools.result_models import GenerationInfo

MORE_COUNT = 2
"""How many candidates "More like this" makes."""
Action = Literal["edit", "more", "split", "reference"]


class Offer(BaseModel):
    """One paid action on one image, with what it costs."""

    model_config = ConfigDict(defer_build=True)

    action: Action = Field(description="edit, more (like this), split (into layers) or reference (use as one).")
    label: str = Field(description="The button's words, without the price.")
    tool: str = Field(description="The tool the view calls.")
    arguments: dict[str, Any] = Field(description="Its arguments, but the prompt where `needs_prompt`.")
    needs_prompt: bool = Field(description="The user types a prompt first (sent as `prompt`).")
    usd: float = Field(description="What it costs, from the published prices.")
    estimate: bool = Field(description="The price is an estimate (a split: at most 10 layers).")


class ImageOffers(BaseModel):
    """The actions offered on one output of a generation."""

    model_config = ConfigDict(defer_build=True)

    generation_id: str
    output_index: int
    offers: list[Offer]


def offers_for(info: GenerationInfo) -> list[ImageOffers]:
    """The actions on each output of a completed generation (none for others)."""
    if info.state != "completed":
        return []
    several = len(info.outputs) > 1
    return [
        ImageOffers(
            generation_id=info.generation_id,
            output_index=output.index,
            offers=_offers(info, output.index if several else None),
        )
        for output in info.outputs
    ]


def _offers(info: GenerationInfo, output_index: int | None) -> list[Offer]:
    source: dict[str, Any] = {"generation_id": info.generation_id}
    if output_index is not None:
        source["output_index"] = output_index
    model = info.model if info.model in ("uni-1", "uni-1-max") else "uni-1"
    quiet = {"model": model, "preview": "none"}  # the view shows renditions of its own
    edit = price_of(model, "image_edit")
    reference = price_of(model, "image", references=1)
    more = Price(reference.micro_usd * MORE_COUNT, reference.estimate)
    offers = [
        Offer(
            action="edit",
            label="Edit",
            tool="edit_image",
            arguments={"source": source, **quiet},
            needs_prompt=True,
            usd=edit.usd,
            estimate=edit.estimate,
        ),
        Offer(
            action="more",
            label=f"More like this ×{MORE_COUNT}",
            tool="generate_image",
            arguments={
                **({"prompt": info.prompt} if info.prompt else {}),
                "image_ref": [source],
                "count": MORE_COUNT,
                "new_variation": True,
                **quiet,
            },
            needs_prompt=not info.prompt,
            usd=more.usd,
            estimate=more.estimate,
        ),
    ]
    if info.type != "layering":
        split = price_of("uni-1", "layering")
        offers.append(
            Offer(
                action="split",
                label="Split into layers",
                tool="split_into_layers",
                arguments={"source": source, "preview": "none"},
                needs_prompt=False,
                usd=split.usd,
                estimate=split.estimate,
            )
        )
    offers.append(
        Offer(
            action="reference",
            label="Use as reference",
            tool="generate_image",
            arguments={"image_ref": [source], **quiet},
            needs_prompt=True,
            usd=reference.usd,
            estimate=reference.estimate,
        )
    )
    return offers
