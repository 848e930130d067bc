"""The tool functions: each takes its argument model and the request context, and delegates to the
call's workspace in one call."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult

from ..errors import InputError, LumaError, StoreError
from ..workspaces import AppState, Workspace
from .arguments import (
    EditImageArgs,
    GenerateImageArgs,
    GetGenerationArgs,
    GetSpendingArgs,
    ListGenerationsArgs,
    SplitIntoLayersArgs,
    UploadImageArgs,
    WaitForGenerationArgs,
)
from .confirmation import Confirmation, InputRequiredError
from .result_models import GenerationList, GenerationResult, SpendingResult, UploadResult
from .results import list_result, tool_result, upload_result
from .spending_result import running_total, spending_result

Result = Annotated[CallToolResult, GenerationResult]
Generated = Annotated[CallToolResult | InputRequiredResult, GenerationResult]
"""A generating tool's answer: its result, or (2026-07-28) a question to answer first."""
Spent = Annotated[CallToolResult, SpendingResult]
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


def _workspace(ctx: Context[AppState]) -> Workspace:
    return ctx.request_context.lifespan_context.workspace(ctx)


def _emulated(ctx: Context[AppState]) -> bool:
    """Whether the links are the embedded emulator's, which nothing outside this server opens."""
    return ctx.request_context.lifespan_context.settings.emulator


async def _generated(
    args: GenerateImageArgs | EditImageArgs | SplitIntoLayersArgs, ctx: Context[AppState], tool: str
) -> CallToolResult | InputRequiredResult:
    """A generating call: confirmed if it is big, then made; its result carries its cost and the
    running total."""
    confirm = Confirmation(ctx, ctx.request_context.lifespan_context.settings, tool, args.confirm_spend_usd)
    try:
        with reported_as_tool_errors():
            workspace = _workspace(ctx)
            made = await workspace.generate(args, ctx.report_progress, tool=tool, confirm=confirm)
    except InputRequiredError as question:
        return question.result
    spending = None if made.spent is None else running_total(made.spent, workspace.spending.caps)
    return tool_result(made, tool=tool, failure_is_error=True, spent=True, spending=spending, emulated=_emulated(ctx))


async def generate_image(args: GenerateImageArgs, ctx: Context[AppState]) -> Generated:
    return await _generated(args, ctx, "generate_image")


async def edit_image(args: EditImageArgs, ctx: Context[AppState]) -> Generated:
    return await _generated(args, ctx, "edit_image")


async def split_into_layers(args: SplitIntoLayersArgs, ctx: Context[AppState]) -> Generated:
    return await _generated(args, ctx, "split_into_layers")


async def get_spending(args: GetSpendingArgs, ctx: Context[AppState]) -> Spent:
    with reported_as_tool_errors():
        summary = await _workspace(ctx).spent(args.limit)
    return spending_result(summary, ctx.request_context.lifespan_context.settings)


async def get_generation(args: GetGenerationArgs, ctx: Context[AppState]) -> Result:
    with reported_as_tool_errors():
        looked = await _workspace(ctx).look(args.generation_id, args.preview)
    return tool_result(looked, tool="get_generation", emulated=_emulated(ctx))


async def wait_for_generation(args: WaitForGenerationArgs, ctx: Context[AppState]) -> Result:
    settings = ctx.request_context.lifespan_context.settings
    max_wait = args.timeout_seconds if args.timeout_seconds is not None else settings.wait_seconds
    with reported_as_tool_errors():
        waited = await _workspace(ctx).wait(args.ids, max_wait, ctx.report_progress, args.preview)
    return tool_result(waited, tool="wait_for_generation", emulated=_emulated(ctx))


async def list_generations(args: ListGenerationsArgs, ctx: Context[AppState]) -> Listing:
    with reported_as_tool_errors():
        workspace = _workspace(ctx)
    try:  # one more than asked: whether there is a next page
        entries, warnings = await workspace.recent(args.query, args.limit + 1, args.offset)
    except StoreError as exc:  # a read degrades to what it can say
        return list_result([], query=args.query, warnings=[str(exc)])
    next_offset = args.offset + args.limit if len(entries) > args.limit else None
    return list_result(entries[: args.limit], query=args.query, next_offset=next_offset, warnings=warnings)


async def upload_image(args: UploadImageArgs, ctx: Context[AppState]) -> Uploaded:
    with reported_as_tool_errors():
        upload, name = await _workspace(ctx).upload(args.path, args.inline)
    return upload_result(upload, name)
