"""The Luma Agents API: wire models, errors and `LumaClient`. Knows nothing of MCP.

Each name is imported from its module when first asked for (`luma_mcp.api.X`), so that importing
one module of this package (the errors, at every start-up) imports not the others (the client and
its pydantic models, which only calls need)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import LumaClient, RetryPolicy, SystemTime, Timekeeper
    from .errors import (
        APIConnectionError,
        APIStatusError,
        LumaError,
        MissingApiKeyError,
        OutcomeUnknownError,
        RateLimitError,
        ServerError,
        UploadError,
    )
    from .http import DEFAULT_BASE_URL, SharedHttpClient, timeout_within
    from .models import (
        ASPECT_RATIOS,
        PORTRAIT_RATIOS,
        AspectRatio,
        Generation,
        GenerationOutput,
        GenerationRequest,
        GenerationState,
        ImageRef,
        Layer,
        LayeringOptions,
        LayerResolution,
        Model,
        OutputFormat,
        StoredFile,
        Style,
    )

_MODULES = ("errors", "http", "models", "client")
"""This package's modules that export names here, the lightest first: a name is looked for in each in turn."""
_MISSING = object()


def __getattr__(name: str) -> object:
    if name in __all__:
        for module in _MODULES:
            value = getattr(importlib.import_module(f".{module}", __name__), name, _MISSING)
            if value is not _MISSING:
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ASPECT_RATIOS",
    "DEFAULT_BASE_URL",
    "PORTRAIT_RATIOS",
    "APIConnectionError",
    "APIStatusError",
    "AspectRatio",
    "Generation",
    "GenerationOutput",
    "GenerationRequest",
    "GenerationState",
    "ImageRef",
    "Layer",
    "LayerResolution",
    "LayeringOptions",
    "LumaClient",
    "LumaError",
    "MissingApiKeyError",
    "Model",
    "OutcomeUnknownError",
    "OutputFormat",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "SharedHttpClient",
    "StoredFile",
    "Style",
    "SystemTime",
    "Timekeeper",
    "UploadError",
    "timeout_within",
]
