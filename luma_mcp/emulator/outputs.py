"""A generation's outputs: size, format and file names planned when it is queued, and the images,
rendered once (in a worker thread) when first downloaded or chained."""

from __future__ import annotations

import functools

import anyio.to_thread

from . import render
from .state import Generation, InputImage, Output
from .validation import CreateRequest


def plan_outputs(
    request: CreateRequest,
    inputs: list[InputImage],
    sizes: list[tuple[int, int] | None],
    *,
    long_edge: int,
    layers: int,
) -> tuple[tuple[int, int], str, tuple[str, ...]]:
    """Size, format and file names of the outputs, fixed when the job is queued (a layering job
    makes `layers` of them)."""
    if request.type == "layering":
        source = sizes[0] or (long_edge, long_edge)
        edge = long_edge if request.layer_resolution == "2k" else long_edge // 2
        scale = edge / max(source)
        size = (max(1, round(source[0] * scale)), max(1, round(source[1] * scale)))
        return size, "png", tuple(f"layer-{i}.png" for i in range(layers))
    if request.type == "image_edit":
        size = sizes[0] or (long_edge, long_edge)
        source_format = {"image/jpeg": "jpeg"}.get(inputs[0].media_type, "png")
        output_format = request.output_format or source_format  # [guess] the model keeps the source's
    else:
        ratio = request.aspect_ratio or render.pick_aspect_ratio(request.prompt, request.style)
        size = render.output_size(ratio, long_edge)
        output_format = request.output_format or render.pick_output_format(request.prompt)
    return size, output_format, (f"output.{render.EXTENSIONS[output_format]}",)


async def rendered_outputs(generation: Generation, *, stock: bool) -> tuple[Output, ...]:
    """Render a generation's outputs once (in a worker thread) and keep them. `stock` (see
    `EmulatorConfig.stock_images`): a text-to-image output is the one stock image of its size and
    format."""
    async with generation.render_lock:
        if generation.outputs is None:
            stocked = stock and generation.request.type == "image"
            generation.outputs = await anyio.to_thread.run_sync(_stock if stocked else _render, generation)
    return generation.outputs


def _stock(generation: Generation) -> tuple[Output, ...]:
    data = stock_image(generation.size, generation.output_format)
    return (Output(data, render.MEDIA_TYPES[generation.output_format], generation.output_names[0]),)


@functools.lru_cache(maxsize=8)
def stock_image(size: tuple[int, int], output_format: str) -> bytes:
    """The one image `--stock-images` serves for every text-to-image output of `size` and
    `output_format` (the benchmarks decode it too, to measure a preview's floor)."""
    return render.render_image("stock image", size=size, output_format=output_format, model="uni-1", style="auto")


def _render(generation: Generation) -> tuple[Output, ...]:
    request = generation.request
    if request.type == "layering":
        layers = render.render_layers(
            generation.inputs[0].data,
            request.prompt,
            long_edge=max(generation.size),
            count=len(generation.output_names),
            variation=generation.id,
        )
        return tuple(
            Output(data, "image/png", name, {"label": label})
            for (data, label, _, _), name in zip(layers, generation.output_names, strict=True)
        )
    if request.type == "image_edit":
        data = render.render_edit(
            generation.inputs[0].data,
            request.prompt,
            output_format=generation.output_format,
            model=request.model,
            variation=generation.id,
        )
    else:
        data = render.render_image(
            request.prompt,
            size=generation.size,
            output_format=generation.output_format,
            model=request.model,
            style=request.style,
            refs=[i.data for i in generation.inputs],
            variation=generation.id,
        )
    return (Output(data, render.MEDIA_TYPES[generation.output_format], generation.output_names[0]),)
