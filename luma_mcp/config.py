"""Settings: command-line flag > environment variable > default. Each setting is documented here
once; the CLI's flags and the README's table are checked against this model."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

DEFAULT_BASE_URL = "https://agents.lumalabs.ai/v1"

PreviewMode = Literal["auto", "full", "none"]


class ConfigError(Exception):
    """A setting has a value we cannot use; the message names it and what to set."""


def default_output_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`<Pictures>/luma-agents`: the user's pictures folder, never the host's working directory."""
    home = Path(environ.get("HOME") or Path.home())
    pictures = environ.get("XDG_PICTURES_DIR", "").replace("$HOME", str(home))
    base = Path(pictures) if pictures else home / "Pictures"
    return (base if base.is_dir() else home) / "luma-agents"


def _setting(default: Any, *, env: str, flag: str | None, doc: str, **constraints: Any) -> Any:
    extra: dict[str, Any] = {"env": env, "flag": flag}
    return Field(default, description=doc, json_schema_extra=extra, **constraints)


class Settings(BaseModel):
    """Everything the server can be told. Read with `Settings.load(flags, environ)`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = _setting(
        None,
        env="LUMA_AGENTS_API_KEY",
        flag=None,  # never a flag: argv is visible to every user of the machine
        doc="Luma Agents API key (starts with `luma-api-`). Without it the server starts, "
        "and tool calls say how to set it.",
    )
    base_url: str = _setting(
        DEFAULT_BASE_URL,
        env="LUMA_BASE_URL",
        flag="--base-url",
        doc="API base URL, `/v1` included (the official SDK's variable).",
    )
    output_dir: Path = _setting(
        None,
        env="LUMA_MCP_OUTPUT_DIR",
        flag="--output-dir",
        doc="Where finished images are saved. Default: `~/Pictures/luma-agents` "
        "(`~/luma-agents` without a Pictures folder; with --emulator, a temporary folder).",
        validate_default=True,  # the default is computed by the validator below
    )
    wait_seconds: float = _setting(
        35.0,
        env="LUMA_MCP_WAIT_SECONDS",
        flag="--wait-seconds",
        doc="How long a generating tool waits for the image before handing back the id to wait on. "
        "35 s leaves room for the download and preview inside Claude Desktop's ~45 s tool limit.",
        ge=0,
        le=600,
    )
    preview: PreviewMode = _setting(
        "auto",
        env="LUMA_MCP_PREVIEW",
        flag="--preview",
        doc="Inline previews for the model: auto (long edge ≤ 1024 px), full (≤ 1568 px) or none (paths "
        "and links only). All previews of a result share 700 KB. Tools take a `preview` argument too.",
    )
    max_download_mb: float = _setting(
        50,
        env="LUMA_MCP_MAX_DOWNLOAD_MB",
        flag="--max-download-mb",
        doc="Largest image download accepted, in MB; a bigger one is refused, its link kept.",
        gt=0,
        le=1024,
    )
    http_timeout: float = _setting(
        30.0,
        env="LUMA_MCP_HTTP_TIMEOUT",
        flag="--http-timeout",
        doc="Seconds to wait for the API (and for each chunk of a download) before giving up on a request.",
        gt=0,
        le=300,
    )
    emulator: bool = _setting(
        False,
        env="LUMA_MCP_EMULATOR",
        flag="--emulator",
        doc="Use the embedded emulator of the API: no key, no network, rendered stand-in images.",
    )
    emulator_latency: float = _setting(
        8.0,
        env="LUMA_MCP_EMULATOR_LATENCY",
        flag="--emulator-latency",
        doc="With the emulator: seconds until a generation finishes (the real API takes 30–60 s).",
        ge=0,
        le=600,
    )
    dedupe_seconds: float = _setting(
        300,
        env="LUMA_MCP_DEDUPE_SECONDS",
        flag="--dedupe-seconds",
        doc="For how long after a generation finished an identical generating call returns it instead of "
        "paying again (a call is always deduplicated while the first is running). `new_variation` forces a new image.",
        ge=0,
    )
    allowed_dirs: list[Path] = _setting(
        None,
        env="LUMA_MCP_ALLOWED_DIRS",
        flag="--allowed-dirs",
        doc="Folders whose images a `path` input may read, separated by `os.pathsep` (`:`; `;` on Windows). "
        "Default: the output folder and your home folder. Hidden folders inside them (like `~/.ssh`) are "
        "never read unless listed here themselves.",
        validate_default=True,
    )
    upload_threshold_mb: float = _setting(
        4,
        env="LUMA_MCP_UPLOAD_THRESHOLD_MB",
        flag="--upload-threshold-mb",
        doc="Images larger than this go through the Files API instead of inline base64 (the API advises "
        "under 4 MB inline).",
        ge=0,
        le=50,
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _setting(
        "INFO",
        env="LUMA_MCP_LOG_LEVEL",
        flag="--log-level",
        doc="Level of the log written to stderr (stdout belongs to the MCP protocol).",
    )

    @field_validator("output_dir", mode="before")
    @classmethod
    def _expand_output_dir(cls, value: Any) -> Any:
        if value is None or value == "":
            return default_output_dir()
        return Path(str(value)).expanduser().resolve()  # not relative to whatever folder the host starts us in

    @field_validator("api_key", mode="before")
    @classmethod
    def _strip_key(cls, value: Any) -> Any:
        # Keys pasted into JSON configs often carry a trailing space or newline.
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("allowed_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(os.pathsep) if part.strip()]
        if isinstance(value, list):
            return [Path(str(part)).expanduser().resolve() for part in cast("list[Any]", value)]
        return [] if value is None else value  # empty: filled in once the output folder is known

    @model_validator(mode="after")
    def _default_allowed_dirs(self) -> Settings:
        if not self.allowed_dirs:
            object.__setattr__(self, "allowed_dirs", [self.output_dir, Path.home().resolve()])
        return self

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an http(s) URL ending in /v1, e.g. https://agents.lumalabs.ai/v1")
        local = parts.hostname in ("localhost", "127.0.0.1", "::1") or parts.hostname.endswith((".test", ".localhost"))
        if parts.scheme == "http" and not local:
            raise ValueError(
                "must use https: over http the API key would travel in clear (http is for local emulators)"
            )
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def sources(cls) -> Iterator[SettingSource]:
        """Each setting's name, variable, flag and documentation."""
        for name, field in cls.model_fields.items():
            extra = cast("dict[str, str | None]", field.json_schema_extra)
            yield SettingSource(name, str(extra["env"]), extra["flag"], field.description or "")

    @classmethod
    def load(cls, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
        """Flags that were given win over the environment, which wins over defaults."""
        flags = flags or {}
        values: dict[str, Any] = {}
        origin: dict[str, str] = {}
        for source in cls.sources():
            if flags.get(source.name) is not None:
                values[source.name], origin[source.name] = flags[source.name], source.flag or source.name
            elif environ.get(source.env, "") != "":
                values[source.name], origin[source.name] = environ[source.env], source.env
        output_given = "output_dir" in values
        values.setdefault("output_dir", default_output_dir(environ))
        try:
            settings = cls(**values)
        except ValidationError as exc:
            problems: list[str] = []
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                where = origin.get(name, name)
                shown = "<hidden>" if name == "api_key" else repr(values.get(name))
                problems.append(f"{where}={shown}: {error['msg']}")
            raise ConfigError("Invalid setting: " + "; ".join(problems)) from None
        if settings.emulator and not output_given:
            # Stand-in images do not belong in the user's pictures.
            values["output_dir"] = Path(tempfile.gettempdir()) / "luma-agents-emulator"
            settings = cls(**values)
        return settings


@dataclass(frozen=True)
class SettingSource:
    name: str
    env: str
    flag: str | None
    doc: str
