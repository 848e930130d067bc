"""Tools whose arguments are one pydantic model, published *flat*: `inputSchema` is exactly the
model's JSON schema (top-level `prompt`, `aspect_ratio`, …), where the SDK would nest it under the
parameter's name. The SDK's machinery (validation, context injection, output schema and checks,
error wrapping) is used as is, with the model as the tool's argument model; invalid arguments get a
message that names each field and the fix."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_args, get_type_hints

from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.context_injection import find_context_parameter
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.shared.tool_name_validation import validate_and_warn_tool_name
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .deferred import Listing
from .schemas import stored


class ModelTool(Tool):
    """A `Tool` taking one argument model, flat."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        # The SDK validates once and reports a failure as a ToolError caused by the ValidationError
        # (anything the tool itself raises arrives wrapped differently): rephrased here, so that a
        # large image argument is not validated twice.
        try:
            return await super().run(arguments, context, convert_result)
        except ToolError as exc:
            invalid = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(invalid, ValidationError):
                raise
            raise ToolError(
                describe_invalid(self.name, invalid, list(self.parameters.get("properties", {})))
            ) from invalid


def model_tool(fn: Callable[..., Any], listing: Listing) -> ModelTool:
    """Wrap `async fn(args: SomeArgs, ctx: Context) -> Annotated[CallToolResult, Result]` as a tool
    whose input schema is `SomeArgs`'s, flat, and whose output schema is `Result`'s (as stored in
    `schemas.json`, else made now). `SomeArgs` is
    an `ArgModelBase` (see `ToolArguments`), so the SDK validates a call with it directly.

    Built directly rather than through `Tool.from_function`, which would derive (and throw away)
    a nested argument model and schema: that work is a third of this server's start-up."""
    hints = get_type_hints(fn, include_extras=True)
    params = [
        (param, hints[param])
        for param in inspect.signature(fn).parameters
        if isinstance(hints.get(param), type) and issubclass(hints[param], ArgModelBase)
    ]
    returns = get_args(hints.get("return"))
    answers = returns[0] if returns else None
    if (
        len(params) != 1
        or len(returns) != 2
        or answers not in (CallToolResult, CallToolResult | InputRequiredResult)
        or not inspect.iscoroutinefunction(fn)
    ):
        raise TypeError(
            f"{fn.__name__} must be `async def f(args: Args, ctx: Context) -> Annotated[CallToolResult, Result]` "
            "(or `CallToolResult | InputRequiredResult`, for a tool that may ask a question first)"
        )
    param, model = params[0]
    if param != "args":
        raise TypeError(f"{fn.__name__}: the argument model's parameter must be named `args`")
    output: type[BaseModel] = returns[1]
    validate_and_warn_tool_name(listing.name)
    published = stored(listing.name)
    return ModelTool(
        fn=fn,
        name=listing.name,
        title=listing.title,
        description=listing.description,
        parameters=published["input"] if published else model.model_json_schema(),
        fn_metadata=FuncMetadata(
            arg_model=model,
            output_schema=published["output"] if published else output.model_json_schema(),
            output_model=output,
        ),
        is_async=True,
        context_kwarg=find_context_parameter(fn),
        annotations=listing.annotations,
        meta=listing.meta,
    )


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(error: ErrorDetails, known: list[str]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    match kind:
        case "missing":
            return "is required"
        case "extra_forbidden":
            return (
                f"is not an argument here; use only: {', '.join(known)}"
                if len(error["loc"]) == 1
                else "is not a known field"
            )
        case "value_error":
            return error["msg"].removeprefix("Value error, ")
        case "literal_error":
            return f"must be one of {ctx.get('expected')} (got {_shown(value)})"
        case "string_too_short":
            return f"must be at least {ctx.get('min_length')} character(s) long (got {len(str(value))})"
        case "string_too_long":
            return f"must be at most {ctx.get('max_length')} characters long (got {len(str(value))})"
        case "string_pattern_mismatch":
            return f"must be a UUID like d290f1ee-6c54-4b01-90e6-d701748f0851 (got {_shown(value)})"
        case "too_long":
            return f"takes at most {ctx.get('max_length')} items (got {ctx.get('actual_length')})"
        case "model_type" | "dict_type":
            return 'must be an object, e.g. {"url": "https://..."} or {"generation_id": "..."}'
        case _:
            return f"{error['msg'][0].lower()}{error['msg'][1:]} (got {_shown(value)})"


def describe_invalid(tool: str, exc: ValidationError, fields: list[str]) -> str:
    """`Invalid arguments for generate_image; nothing was sent:` and one line per problem."""
    lines = [f"Invalid arguments for {tool}; nothing was sent:"]
    for error in exc.errors(include_url=False):
        where = _where(error["loc"])
        lines.append(f"- {where}: {_explain(error, fields)}" if where else f"- {_explain(error, fields)}")
    return "\n".join(lines)
