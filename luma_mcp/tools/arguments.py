"""Tool arguments: each model is the tool's `inputSchema`, and validates a call before any request.

Field descriptions are one short sentence, written for a model choosing arguments.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from pydantic import AfterValidator, ConfigDict, Field, PrivateAttr, model_validator

from ..api.models import (
    MAX_EDIT_IMAGE_REFS,
    MAX_IMAGE_REFS,
    MAX_LAYERING_PROMPT_CHARS,
    MAX_PROMPT_CHARS,
    PORTRAIT_RATIOS,
    AspectRatio,
    GenerationRequest,
    ImageRef,
    LayeringOptions,
    LayerResolution,
    Model,
    OutputFormat,
    Style,
)
from ..media.image_input import PATH_DESCRIPTION, UUID, ImageInput, InlineImage, MediaType, inline_data
from ..media.previews import PreviewMode

MAX_WAIT_SECONDS = 600
MAX_COUNT = 4
MAX_WAITED_IDS = 10

ModelArg = Annotated[Model, Field(description="uni-1 (default) or uni-1-max (higher quality, about 2.5× the price).")]
StyleArg = Annotated[Style, Field(description="auto (default) or manga; manga needs a portrait aspect_ratio or none.")]
OutputFormatArg = Annotated[OutputFormat | None, Field(description="png or jpeg; leave out to let the model choose.")]
PreviewArg = Annotated[
    PreviewMode | None,
    Field(
        description="Inline preview: auto (≤ 1024 px), full (≤ 1568 px) or none; leave out for the server's setting."
    ),
]
NewVariationArg = Annotated[
    bool,
    Field(
        description="Pay for a new image even if an identical request was just made (which is otherwise "
        "returned, not charged again)."
    ),
]
GenerationIdArg = Annotated[
    str, Field(pattern=UUID.pattern, description="The generation_id returned by generate_image or edit_image.")
]


def _has_words(prompt: str) -> str:
    """A prompt of only spaces (or line breaks) is refused as an empty one is, before anything is paid."""
    if not prompt.strip():
        raise ValueError("is only spaces: say in words what to draw or change")
    return prompt


Words = AfterValidator(_has_words)
"""On a prompt: it holds more than white space."""
ConfirmSpendArg = Annotated[
    float | None,
    Field(
        default=None,
        ge=0,
        description="Only after a refusal that quoted a price and the user agreed: that quote in USD, to confirm "
        "this exact call.",
    ),
]
CountArg = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_COUNT,
        description="How many separate images to make from these arguments (1–4), in parallel; each is paid.",
    ),
]


class ToolArguments(ArgModelBase):
    """Base of the argument models. Being the SDK's own kind of argument model, each is used as
    is to validate a call, and handed whole to the tool function as its `args` parameter."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"args": self}


class GenerateImageArgs(ToolArguments):
    """Arguments of generate_image."""

    prompt: Annotated[str, Words] = Field(
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        description="What to draw: subject, setting, lighting, style and mood (1–6000 characters).",
    )
    model: ModelArg = "uni-1"
    aspect_ratio: AspectRatio | None = Field(
        None, description="Shape of the image, e.g. 16:9 or 2:3; leave out to let the model choose."
    )
    style: StyleArg = "auto"
    output_format: OutputFormatArg = None
    web_search: bool = Field(False, description="Look up real-world references first (landmarks, products); slower.")
    image_ref: list[ImageInput] = Field(
        default_factory=list[ImageInput],
        max_length=MAX_IMAGE_REFS,
        description="Up to 9 reference images to guide content, style or composition.",
    )
    count: CountArg = 1
    new_variation: NewVariationArg = False
    preview: PreviewArg = None
    confirm_spend_usd: ConfirmSpendArg = None

    def images(self) -> list[tuple[str, ImageInput]]:
        """The reference images, each with its field."""
        return [(f"image_ref[{i}]", image) for i, image in enumerate(self.image_ref)]

    def request(self, refs: tuple[ImageRef, ...]) -> GenerationRequest:
        """The API request, given `images()` in the API's form."""
        return GenerationRequest(
            prompt=self.prompt,
            model=self.model,
            aspect_ratio=self.aspect_ratio,
            style=self.style,
            output_format=self.output_format,
            web_search=self.web_search,
            image_ref=refs,
        )

    @model_validator(mode="after")
    def _manga_is_portrait(self) -> GenerateImageArgs:
        if self.style == "manga" and self.aspect_ratio is not None and self.aspect_ratio not in PORTRAIT_RATIOS:
            raise ValueError(
                f"style manga needs a portrait aspect_ratio ({', '.join(PORTRAIT_RATIOS)}) or none; "
                f"got {self.aspect_ratio}"
            )
        return self


class EditImageArgs(ToolArguments):
    """Arguments of edit_image."""

    prompt: Annotated[str, Words] = Field(
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        description="The change to make, e.g. 'make it night, add falling snow' (1–6000 characters).",
    )
    source: ImageInput = Field(
        description='The image to edit, e.g. {"generation_id": "<id of an earlier result>"} or {"url": "https://..."}.'
    )
    image_ref: list[ImageInput] = Field(
        default_factory=list[ImageInput],
        max_length=MAX_EDIT_IMAGE_REFS,
        description="Up to 8 more images to draw from (the source takes the ninth slot).",
    )
    model: ModelArg = "uni-1"
    style: StyleArg = "auto"
    output_format: OutputFormatArg = None
    count: CountArg = 1
    new_variation: NewVariationArg = False
    preview: PreviewArg = None
    confirm_spend_usd: ConfirmSpendArg = None

    def images(self) -> list[tuple[str, ImageInput]]:
        """The source first (its errors are reported first), then the reference images."""
        return [("source", self.source)] + [(f"image_ref[{i}]", image) for i, image in enumerate(self.image_ref)]

    def request(self, refs: tuple[ImageRef, ...]) -> GenerationRequest:
        """The API request, given `images()` in the API's form."""
        return GenerationRequest(
            prompt=self.prompt,
            model=self.model,
            type="image_edit",
            style=self.style,
            output_format=self.output_format,
            source=refs[0],
            image_ref=refs[1:],
        )


class SplitIntoLayersArgs(ToolArguments):
    """Arguments of split_into_layers."""

    source: ImageInput = Field(
        description='The image to split, e.g. {"generation_id": "<id of an earlier result>"} or {"path": "..."}.'
    )
    prompt: Annotated[str, Words] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_LAYERING_PROMPT_CHARS,
        description="Optional guidance on how to split, e.g. 'keep the text apart' (up to 500 characters).",
    )
    resolution: LayerResolution = Field(
        default="1k",
        description="1k (default: faster, cheaper) or 2k (each layer re-rendered sharper, twice the price).",
    )
    new_variation: NewVariationArg = False
    preview: PreviewArg = None
    confirm_spend_usd: ConfirmSpendArg = None

    @property
    def count(self) -> int:
        return 1

    def images(self) -> list[tuple[str, ImageInput]]:
        """The source."""
        return [("source", self.source)]

    def request(self, refs: tuple[ImageRef, ...]) -> GenerationRequest:
        """The API request (uni-1: the only model that splits), given `images()` in the API's form."""
        return GenerationRequest(
            prompt=self.prompt,
            model="uni-1",
            type="layering",
            source=refs[0],
            layering=LayeringOptions(resolution=self.resolution),
        )


class GetGenerationArgs(ToolArguments):
    """Arguments of get_generation."""

    generation_id: GenerationIdArg
    preview: PreviewArg = None


class WaitForGenerationArgs(ToolArguments):
    """Arguments of wait_for_generation."""

    generation_id: str | None = Field(
        default=None, pattern=UUID.pattern, description="The generation_id returned by a generating tool."
    )
    generation_ids: list[GenerationIdArg] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_WAITED_IDS,
        description="Or several ids to wait for together, e.g. the ones a count > 1 call handed back.",
    )
    timeout_seconds: float | None = Field(
        None,
        ge=1,
        le=MAX_WAIT_SECONDS,
        description="Longest wait in seconds; leave out for the server's default (Claude Desktop stops at ~45 s).",
    )
    preview: PreviewArg = None

    @model_validator(mode="after")
    def _one_or_several(self) -> WaitForGenerationArgs:
        if self.generation_id is None and self.generation_ids is None:
            raise ValueError("give generation_id (or generation_ids, to wait for several together)")
        if self.generation_id is not None and self.generation_ids is not None:
            raise ValueError("give generation_id or generation_ids, not both")
        return self

    @property
    def ids(self) -> list[str]:
        """The generations to wait for, in order, each once."""
        given = [self.generation_id] if self.generation_id is not None else self.generation_ids or []
        return list(dict.fromkeys(given))


class ListGenerationsArgs(ToolArguments):
    """Arguments of list_generations."""

    query: str | None = Field(
        default=None,
        max_length=500,
        description="Words the prompt must contain, e.g. 'red fox'; leave out to list everything.",
    )
    limit: int = Field(default=10, ge=1, le=100, description="How many to return, most recent first (1–100).")
    offset: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="How many of the most recent to skip: the next page starts at next_offset.",
    )


class GetSpendingArgs(ToolArguments):
    """Arguments of get_spending."""

    limit: int = Field(default=10, ge=0, le=100, description="How many of the last calls to list (0–100).")


class UploadImageArgs(ToolArguments):
    """Arguments of upload_image."""

    path: str | None = Field(default=None, description=PATH_DESCRIPTION)
    data: str | None = Field(default=None, description="Or the image as base64 (or a data: URI).")
    media_type: MediaType | None = Field(default=None, description="MIME type of data.")
    _inline: InlineImage | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _path_or_data(self) -> UploadImageArgs:
        if (self.path is None) == (self.data is None):
            raise ValueError("give exactly one of path or data")
        if self.path is not None and not self.path.strip():
            raise ValueError("path is empty")
        self._inline = inline_data(self.data, self.media_type)
        return self

    @property
    def inline(self) -> InlineImage | None:
        """The checked `data`, if that is what was given."""
        return self._inline
