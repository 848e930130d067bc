"""The tool functions: each takes its argument model and the request context, and delegates."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult

from ..api import LumaError
from ..media.inputs import InputError
from ..workspaces import AppState
from .arguments import (
    EditImageArgs,
    GenerateImageArgs,
    GetGenerationArgs,
    ListGenerationsArgs,
    UploadImageArgs,
    WaitForGenerationArgs,
)
from .results import GenerationList, GenerationResult, UploadResult, list_result, tool_result, upload_result

Result = Annotated[CallToolResult, GenerationResult]
Listing = Annotated[CallToolResult, GenerationList]
Uploaded = Annotated[CallToolResult, UploadResult]


@contextmanager
def reported_as_tool_errors() -> Generator[None]:
    """Failures the model can act on become tool errors: bad inputs (nothing sent), and API
    errors with their status, detail and request id."""
    try:
        yield
    except InputError as exc:
        raise ToolError(f"Invalid image input; nothing was sent:\n- {exc}") from exc
    except LumaError as exc:
        raise ToolError(str(exc)) from exc


async def generate_image(args: GenerateImageArgs, ctx: Context[AppState]) -> Result:
    return await _made(args, ctx, "generate_image")


async def edit_image(args: EditImageArgs, ctx: Context[AppState]) -> Result:
    return await _made(args, ctx, "edit_image")


async def _made(args: GenerateImageArgs | EditImageArgs, ctx: Context[AppState], tool: str) -> Result:
    """Resolve the input images (uploading large ones), then submit and wait: one time budget."""
    with reported_as_tool_errors():
        work = ctx.request_context.lifespan_context.workspace(ctx)
        with work.runner.busy():  # from the uploads on: the workspace must outlive the call
            started = work.runner.now()  # uploads count against the call's time budget too
            deadline = work.runner.inputs_deadline(started)
            refs = [(f"image_ref[{i}]", image) for i, image in enumerate(args.image_ref)]
            if isinstance(args, EditImageArgs):  # the source first: its errors are reported first
                source = await work.inputs.resolve("source", args.source, deadline=deadline)
                request = args.request(await work.inputs.resolve_all(refs, deadline=deadline), source)
            else:
                request = args.request(await work.inputs.resolve_all(refs, deadline=deadline))
            report = await work.runner.run(
                request, ctx.report_progress, preview=args.preview, started=started, new_variation=args.new_variation
            )
    return tool_result(report, tool=tool, failure_is_error=True)


async def get_generation(args: GetGenerationArgs, ctx: Context[AppState]) -> Result:
    with reported_as_tool_errors():
        work = ctx.request_context.lifespan_context.workspace(ctx)
        report = await work.runner.fetch(args.generation_id, preview=args.preview)
    return tool_result(report, tool="get_generation")


async def wait_for_generation(args: WaitForGenerationArgs, ctx: Context[AppState]) -> Result:
    state = ctx.request_context.lifespan_context
    max_wait = args.timeout_seconds if args.timeout_seconds is not None else state.settings.wait_seconds
    with reported_as_tool_errors():
        work = state.workspace(ctx)
        report = await work.runner.wait(args.generation_id, max_wait, ctx.report_progress, preview=args.preview)
    return tool_result(report, tool="wait_for_generation")


async def list_generations(args: ListGenerationsArgs, ctx: Context[AppState]) -> Listing:
    with reported_as_tool_errors():
        work = ctx.request_context.lifespan_context.workspace(ctx)
        entries = await work.runner.history.recent(query=args.query, limit=args.limit)
    return list_result(entries, query=args.query)


async def upload_image(args: UploadImageArgs, ctx: Context[AppState]) -> Uploaded:
    with reported_as_tool_errors():
        work = ctx.request_context.lifespan_context.workspace(ctx)
        data, media_type, name = await work.inputs.read("image", path=args.path, inline=args.inline)
        upload = await work.inputs.upload(
            data, media_type, name, deadline=work.runner.inputs_deadline(work.runner.now())
        )
    return upload_result(upload, name)
