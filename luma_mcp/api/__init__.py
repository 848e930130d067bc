"""The Luma Agents API: wire models, errors and `LumaClient`. Knows nothing of MCP."""

from .client import DEFAULT_BASE_URL, LumaClient, RetryPolicy, SystemTime, Timekeeper
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
from .http import SharedHttpClient
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
    Model,
    OutputFormat,
    StoredFile,
    Style,
)

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
]
