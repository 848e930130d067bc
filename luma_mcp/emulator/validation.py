"""Static checks of a `POST /v1/generations` body, in the order the emulator applies them.

Written from `shared/luma-api/CONTRACT.md` alone, on raw JSON: the client side has its own
validation, and the two must not share code, so that a misreading in one is caught by the other.
`detail` strings are the contract's where it gives one; the others are marked [guess].
Checks that need state (referenced generations and files, fetched URLs) live in `inputs.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from .errors import ApiError

MODEL_TYPES: dict[str, tuple[str, ...]] = {
    "uni-1": ("image", "image_edit", "layering"),
    "uni-1-max": ("image", "image_edit"),
    "ray-3.2": ("video", "video_edit", "video_reframe"),
}
IMAGE_TYPES = ("image", "image_edit", "layering")
ASPECT_RATIOS = ("3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3")
RATIO_LIST = "1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16"  # the contract's order
PORTRAIT_RATIOS = ("2:3", "9:16", "1:2", "1:3")
STYLES = ("auto", "manga")
OUTPUT_FORMATS = ("png", "jpeg")
LAYER_RESOLUTIONS = ("1k", "2k")
REF_KEYS = ("url", "data", "generation_id", "file_id")
MAX_PROMPT = 6000
MAX_LAYERING_PROMPT = 500
MAX_USER_ID = 256
MAX_REFS = {"image": 9, "image_edit": 8, "layering": 0}


@dataclass(frozen=True)
class ImageRefSpec:
    """One image reference as sent: exactly one of the four kinds is set."""

    field: str
    """Where it sits in the body, used as the prefix of `detail` (`image_ref[2]`, `source`)."""
    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    generation_id: str | None = None
    file_id: str | None = None


@dataclass(frozen=True)
class CreateRequest:
    """A generation request that passed the static checks, defaults filled in."""

    model: str
    type: str
    prompt: str
    aspect_ratio: str | None
    style: str
    output_format: str | None
    web_search: bool
    user_id: str | None
    source: ImageRefSpec | None
    image_refs: tuple[ImageRefSpec, ...]
    layer_resolution: str


def _valid_list(values: tuple[str, ...]) -> str:
    return ", ".join(sorted(values))


def _bad(detail: str) -> ApiError:
    return ApiError(400, detail)


def parse_create_request(body: Any) -> CreateRequest:
    """Check a decoded JSON body; raise `ApiError` (400, or 422 for bad combinations)."""
    if not isinstance(body, dict):
        raise _bad("Request body must be a JSON object")  # [guess]
    fields = cast("dict[str, Any]", body)

    model = fields.get("model")
    model = "uni-1" if model is None else model
    if not isinstance(model, str) or model not in MODEL_TYPES:
        raise _bad(f"Unknown model: {model}")

    kind = fields.get("type")
    kind = "image" if kind is None else kind
    if not isinstance(kind, str) or kind not in MODEL_TYPES[model]:
        raise _bad(f"Type '{kind}' is not supported for model '{model}'")
    if kind not in IMAGE_TYPES:
        # The contract covers images only; video is a real API feature this emulator does not render.
        raise _bad(f"Type '{kind}' is not emulated (the emulator renders images only)")

    prompt = fields.get("prompt")
    if kind == "layering":
        prompt = "" if prompt is None else prompt
        if not isinstance(prompt, str) or len(prompt) > MAX_LAYERING_PROMPT:
            raise _bad(f"Prompt must be at most {MAX_LAYERING_PROMPT} characters for type 'layering'")  # [guess]
    elif not isinstance(prompt, str) or not 1 <= len(prompt) <= MAX_PROMPT:
        raise _bad(f"Prompt must be between 1 and {MAX_PROMPT} characters")

    aspect_ratio = fields.get("aspect_ratio")
    if aspect_ratio is not None and aspect_ratio not in ASPECT_RATIOS:
        raise _bad(f"Invalid aspect_ratio '{aspect_ratio}'. Valid: {RATIO_LIST}")

    style = fields.get("style")
    style = "auto" if style is None else style
    if style not in STYLES:
        raise _bad(f"Invalid style '{style}'. Valid: {_valid_list(STYLES)}")  # [guess]

    output_format = fields.get("output_format")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise _bad(f"Invalid output_format '{output_format}'. Valid: {_valid_list(OUTPUT_FORMATS)}")  # [guess]

    web_search = fields.get("web_search")
    web_search = False if web_search is None else web_search
    if not isinstance(web_search, bool):
        raise _bad("web_search must be a boolean")  # [guess]

    user_id = fields.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or len(user_id) > MAX_USER_ID):
        raise _bad(f"user_id must be a string of at most {MAX_USER_ID} characters")  # [guess]

    raw_source = fields.get("source")
    if kind == "image" and raw_source is not None:
        raise _bad("source is only valid for type 'image_edit'")
    if kind != "image" and raw_source is None:
        raise _bad(f"source is required for type '{kind}'")

    raw_refs: Any = fields.get("image_ref")
    if raw_refs is not None and not isinstance(raw_refs, list):
        raise _bad("image_ref must be a list of image references")  # [guess]
    refs_list = cast("list[Any]", raw_refs or [])
    if len(refs_list) > MAX_REFS[kind]:
        if kind == "image_edit":
            raise _bad("image_edit supports up to 8 reference images (source occupies one slot)")
        if kind == "layering":
            raise _bad("image_ref is not supported for type 'layering'")  # [guess]
        raise _bad("image supports up to 9 reference images")  # [guess]

    source = None if raw_source is None else _parse_ref("source", raw_source)
    image_refs = tuple(_parse_ref(f"image_ref[{i}]", ref) for i, ref in enumerate(refs_list))

    layer_resolution = "2k"  # [guess] the default of `layering.resolution`
    layering: Any = fields.get("layering")
    if kind == "layering" and layering is not None:
        options = cast("dict[str, Any]", layering) if isinstance(layering, dict) else {}
        resolution = options.get("resolution", "2k")
        if resolution not in LAYER_RESOLUTIONS:
            raise _bad(f"Invalid layering.resolution '{resolution}'. Valid: 1k, 2k")  # [guess]
        layer_resolution = str(resolution)

    if kind == "image" and style == "manga" and aspect_ratio is not None and aspect_ratio not in PORTRAIT_RATIOS:
        raise ApiError(  # [guess] status and text; the contract says manga needs a portrait ratio
            422, f"style 'manga' requires a portrait aspect_ratio ({', '.join(PORTRAIT_RATIOS)}) or none"
        )

    return CreateRequest(
        model=model,
        type=kind,
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        style=style,
        output_format=output_format,
        web_search=web_search,
        user_id=user_id,
        source=source,
        image_refs=image_refs,
        layer_resolution=layer_resolution,
    )


def _parse_ref(field: str, raw: Any) -> ImageRefSpec:
    if not isinstance(raw, dict):
        raise _bad(f"{field}: must be an object with one of 'url', 'data', 'generation_id' or 'file_id'")  # [guess]
    ref = cast("dict[str, Any]", raw)
    given = [key for key in REF_KEYS if ref.get(key) is not None]
    if "url" in given and "data" in given:
        raise _bad(f"{field}: provide either 'url' or 'data', not both")
    if len(given) != 1:
        raise _bad(f"{field}: provide exactly one of 'url', 'data', 'generation_id' or 'file_id'")  # [guess]
    key = given[0]
    value = ref[key]
    if not isinstance(value, str) or not value:
        raise _bad(f"{field}: '{key}' must be a non-empty string")  # [guess]
    media_type = ref.get("media_type")
    if key == "data" and media_type is None:
        raise _bad(f"{field}: 'media_type' is required with 'data'")
    if media_type is not None and not isinstance(media_type, str):
        raise _bad(f"{field}: 'media_type' must be a string")  # [guess]
    if key == "url" and not value.lower().startswith(("https://", "http://")):
        raise _bad(f"{field}: 'url' must be an http(s) URL")  # [guess]
    return ImageRefSpec(field=field, media_type=media_type, **{key: value})
