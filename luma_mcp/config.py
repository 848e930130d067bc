"""Settings: command-line flag > environment variable > default. Each setting is documented here
once; the CLI's flags and the README's table are checked against this model."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator, model_validator

from .api.http import DEFAULT_BASE_URL
from .errors import ConfigError
from .hosts import api_url_problem, is_loopback
from .media.bucket import SCHEME, BucketLocation
from .media.folders import default_output_dir, private_folder, user_id
from .media.previews import PreviewMode
from .setting_sources import SettingSource, given_values, problems, setting, sources_of
from .store.location import hidden, problem_with

SECRETS = ("api_key", "http_token", "request_state_key")
"""Settings whose value is never shown, not even in a refusal."""
MIN_TOKEN_CHARS = 32
"""The shortest `LUMA_MCP_HTTP_TOKEN` accepted (`openssl rand -hex 32` makes 64)."""


class Settings(BaseModel):
    """Everything the server can be told. Read with `Settings.load(flags, environ)`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = setting(
        None,
        env="LUMA_AGENTS_API_KEY",
        flag=None,  # never a flag: argv is visible to every user of the machine
        doc="Luma Agents API key (starts with `luma-api-`). Without it the server starts, "
        "and tool calls say how to set it.",
    )
    base_url: str = setting(
        DEFAULT_BASE_URL,
        env="LUMA_BASE_URL",
        flag="--base-url",
        doc="API base URL, `/v1` included (the official SDK's variable).",
    )
    output_dir: Path | BucketLocation = setting(
        None,
        env="LUMA_MCP_OUTPUT_DIR",
        flag="--output-dir",
        doc="Where finished images are saved: a folder, or `s3://bucket/prefix` for an S3-compatible bucket "
        "(reached with the standard AWS variables; `AWS_ENDPOINT_URL` for MinIO, R2 and the like), which turns "
        "saving on over HTTP too. Default: `~/Pictures/luma-agents` (`~/luma-agents` without a Pictures folder; "
        "with --emulator, a private temporary folder).",
        validate_default=True,  # the default is computed by the validator below
    )
    link_days: float = setting(
        7,
        env="LUMA_MCP_LINK_DAYS",
        flag="--link-days",
        doc="With a bucket: how long the links of our own to saved images last, in days (presigned; 7 at most, "
        "S3's limit). Each look (`get_generation`) gives a fresh one.",
        gt=0,
        le=7,
    )
    wait_seconds: float = setting(
        35.0,
        env="LUMA_MCP_WAIT_SECONDS",
        flag="--wait-seconds",
        doc="How long a generating tool waits for the image before handing back the id to wait on. "
        "35 s leaves room for the download and preview inside Claude Desktop's ~45 s tool limit.",
        ge=0,
        le=600,
    )
    preview: PreviewMode = setting(
        "auto",
        env="LUMA_MCP_PREVIEW",
        flag="--preview",
        doc="Inline previews for the model: auto (long edge ≤ 1024 px), full (≤ 1568 px) or none (paths "
        "and links only). All previews of a result share 700 KB. Tools take a `preview` argument too.",
    )
    max_download_mb: float = setting(
        50,
        env="LUMA_MCP_MAX_DOWNLOAD_MB",
        flag="--max-download-mb",
        doc="Largest image download accepted, in MB; a bigger one is refused, its link kept.",
        gt=0,
        le=1024,
    )
    http_timeout: float = setting(
        30.0,
        env="LUMA_MCP_HTTP_TIMEOUT",
        flag="--http-timeout",
        doc="Seconds to wait for the API (and for each chunk of a download) before giving up on a request.",
        gt=0,
        le=300,
    )
    emulator: bool = setting(
        False,
        env="LUMA_MCP_EMULATOR",
        flag="--emulator",
        doc="Use the embedded emulator of the API: no key, no network, rendered stand-in images.",
    )
    emulator_latency: float = setting(
        8.0,
        env="LUMA_MCP_EMULATOR_LATENCY",
        flag="--emulator-latency",
        doc="With the emulator: seconds until a generation finishes (the real API takes 30–60 s).",
        ge=0,
        le=600,
    )
    dedupe_seconds: float = setting(
        300,
        env="LUMA_MCP_DEDUPE_SECONDS",
        flag="--dedupe-seconds",
        doc="For how long after a generation finished an identical generating call returns it instead of "
        "paying again (a call is always deduplicated while the first is running). `new_variation` forces a new image.",
        ge=0,
    )
    allowed_dirs: list[Path] | None = setting(
        None,
        env="LUMA_MCP_ALLOWED_DIRS",
        flag="--allowed-dirs",
        doc="Folders whose images a `path` input may read, separated by `os.pathsep` (`:`; `;` on Windows). "
        "Default: the output folder and your home folder; over HTTP, none (the server's disk is not the "
        "user's). Hidden folders inside them (like `~/.ssh`) are never read unless listed here themselves.",
    )
    upload_threshold_mb: float = setting(
        4,
        env="LUMA_MCP_UPLOAD_THRESHOLD_MB",
        flag="--upload-threshold-mb",
        doc="Images larger than this go through the Files API instead of inline base64 (the API advises "
        "under 4 MB inline).",
        ge=0,
        le=50,
    )
    transport: Literal["stdio", "http"] = setting(
        "stdio",
        env="LUMA_MCP_TRANSPORT",
        flag="--transport",
        doc="`stdio` (what MCP clients launch) or `http` (Streamable HTTP at `/mcp`, for a team or a hosted agent).",
    )
    host: str = setting(
        "127.0.0.1",
        env="LUMA_MCP_HOST",
        flag="--host",
        doc="HTTP: the address to bind. Anything but loopback needs `LUMA_MCP_HTTP_TOKEN`.",
    )
    port: int = setting(8000, env="LUMA_MCP_PORT", flag="--port", doc="HTTP: the port to bind.", ge=0, le=65535)
    http_token: SecretStr | None = setting(
        None,
        env="LUMA_MCP_HTTP_TOKEN",
        flag=None,  # a secret: environment only
        doc="HTTP: a secret of at least 32 characters every request must send as `Authorization: Bearer <token>` "
        "(compared in constant time), e.g. from `openssl rand -hex 32`. Required when binding beyond loopback.",
    )
    allowed_hosts: list[str] | None = setting(
        None,
        env="LUMA_MCP_ALLOWED_HOSTS",
        flag="--allowed-hosts",
        doc="HTTP: `Host` values accepted, comma-separated (`mcp.example.com`, `10.0.0.5:*`); others get 421. "
        "Default on loopback: the loopback names; beyond it, unchecked (the token guards it).",
    )
    allowed_origins: list[str] | None = setting(
        None,
        env="LUMA_MCP_ALLOWED_ORIGINS",
        flag="--allowed-origins",
        doc="HTTP: browser `Origin` values accepted, comma-separated (`https://app.example.com`, "
        "`http://localhost:*`); a request from any other origin gets 403. Default on loopback: the loopback "
        "origins; beyond it, unchecked (the token guards it).",
    )
    byok: bool = setting(
        False,
        env="LUMA_MCP_BYOK",
        flag="--byok",
        doc="HTTP: bring your own key. Each request carries its user's Luma key in the `X-Luma-Agents-Api-Key` "
        "header, used for that request only; the server's own key is not used.",
    )
    save_outputs: bool | None = setting(
        None,
        env="LUMA_MCP_SAVE_OUTPUTS",
        flag="--save-outputs",
        doc="Save finished images (and keep a history) on this machine. Default: yes for stdio, no over HTTP, "
        "where results carry previews and links instead.",
    )
    http_max_body_mb: float = setting(
        70,
        env="LUMA_MCP_HTTP_MAX_BODY_MB",
        flag="--http-max-body-mb",
        doc="HTTP: the largest request accepted, in MB (a 50 MB image is 67 MB as base64).",
        gt=0,
        le=1024,
    )
    shutdown_seconds: float = setting(
        10,
        env="LUMA_MCP_SHUTDOWN_SECONDS",
        flag="--shutdown-seconds",
        doc="HTTP: on SIGTERM, how long calls in progress may finish before they are cancelled "
        "(rounded up to whole seconds).",
        ge=0,
        le=600,
    )
    store_url: SecretStr | None = setting(
        None,
        env="LUMA_MCP_STORE_URL",
        flag=None,  # it may hold a password: environment only, as argv is visible to every user
        doc="Where the history, the reuse ledger and the upload cache are kept, shared by every process that "
        "names the same store: `redis://host:6379/0` (or `rediss://`) for copies behind a load balancer, "
        "`sqlite:///path/to/file.db` for a file of your choice. Default: a SQLite file per output folder in "
        "your state folder (`~/.local/state/luma-agents-mcp/`). A password in it is never shown.",
    )
    budget_daily_usd: float | None = setting(
        None,
        env="LUMA_MCP_BUDGET_DAILY_USD",
        flag="--budget-daily-usd",
        doc="The most the server's key (in BYOK mode: each user's key) may spend per UTC day, in USD; a call "
        "whose price would pass it is refused before anything is sent. Default: no cap.",
        ge=0,
    )
    budget_monthly_usd: float | None = setting(
        None,
        env="LUMA_MCP_BUDGET_MONTHLY_USD",
        flag="--budget-monthly-usd",
        doc="The same per UTC month. Default: no cap.",
        ge=0,
    )
    confirm_above_usd: float | None = setting(
        None,
        env="LUMA_MCP_CONFIRM_ABOVE_USD",
        flag="--confirm-above-usd",
        doc="A call that may spend more than this (USD) is confirmed first: the user is asked where the client "
        "can ask, otherwise the call is refused with its quote, to send again with `confirm_spend_usd`. "
        "Default: never asked.",
        ge=0,
    )
    request_state_key: SecretStr | None = setting(
        None,
        env="LUMA_MCP_REQUEST_STATE_KEY",
        flag=None,  # a secret: environment only
        doc="A secret shared by copies of this server behind a load balancer, to seal the state of a question "
        "asked over the 2026-07-28 protocol (the answer may reach another copy). Default: a key of this "
        "process's own.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = setting(
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
        if isinstance(value, BucketLocation) or (isinstance(value, str) and value.startswith(SCHEME)):
            return value if isinstance(value, BucketLocation) else BucketLocation.parse(value)
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
        return value

    @property
    def readable_dirs(self) -> list[Path]:
        """Where `path` inputs may be read: as configured, else the output folder and home for
        stdio, and nowhere over HTTP."""
        if self.allowed_dirs is not None:
            return self.allowed_dirs
        if self.transport != "stdio":
            return []
        return [*([self.output_dir] if isinstance(self.output_dir, Path) else []), Path.home().resolve()]

    @property
    def bucket(self) -> BucketLocation | None:
        """The bucket outputs are kept in, if `output_dir` names one."""
        return self.output_dir if isinstance(self.output_dir, BucketLocation) else None

    @property
    def keeps_files(self) -> bool:
        """Whether finished images are saved (and a history kept): yes by default for stdio, and
        wherever they go to a bucket."""
        if self.save_outputs is not None:
            return self.save_outputs
        return self.transport == "stdio" or self.bucket is not None

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @model_validator(mode="after")
    def _safe_to_expose(self) -> Settings:
        if self.transport == "http" and not self.loopback and self.http_token is None:
            raise ValueError(
                f"serving HTTP on {self.host} (not loopback) needs LUMA_MCP_HTTP_TOKEN, a secret every "
                "client sends as a Bearer token; or bind to 127.0.0.1"
            )
        token = self.http_token.get_secret_value() if self.http_token else ""
        if self.transport == "http" and token and len(token) < MIN_TOKEN_CHARS:
            # A short secret can be guessed by whoever reaches the port.
            raise ValueError(
                f"LUMA_MCP_HTTP_TOKEN is {len(token)} characters; use at least {MIN_TOKEN_CHARS}, e.g. "
                "LUMA_MCP_HTTP_TOKEN=$(openssl rand -hex 32) or "
                "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
            )
        if self.bucket is not None and self.save_outputs is False:
            raise ValueError(
                f"LUMA_MCP_OUTPUT_DIR names a bucket ({self.bucket}) but LUMA_MCP_SAVE_OUTPUTS is off, so nothing "
                "would be saved there: drop one of the two"
            )
        if self.byok and self.transport != "http":
            # Over stdio no request carries a key, so every call would fail.
            raise ValueError(
                "bring-your-own-key (LUMA_MCP_BYOK / --byok) needs --transport http (LUMA_MCP_TRANSPORT=http), "
                "where each request sends its user's key in the X-Luma-Agents-Api-Key header; over stdio, "
                "turn BYOK off and set LUMA_AGENTS_API_KEY"
            )
        return self

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("http_token", "store_url", "request_state_key", mode="before")
    @classmethod
    def _strip_token(cls, value: Any) -> Any:
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("store_url")
    @classmethod
    def _check_store_url(cls, value: SecretStr | None) -> SecretStr | None:
        problem = None if value is None else problem_with(value.get_secret_value())
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        problem = api_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def sources(cls) -> Iterator[SettingSource]:
        """Each setting's name, variable, flag and documentation."""
        return sources_of(cls)

    @classmethod
    def load(cls, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
        """Flags that were given win over the environment, which wins over defaults."""
        values, origin = given_values(cls, flags or {}, environ)
        output_given = "output_dir" in values
        values.setdefault("output_dir", default_output_dir(environ))
        try:
            settings = cls(**values)
        except ValidationError as exc:
            shown = {name: "<hidden>" if name in SECRETS else repr(value) for name, value in values.items()}
            if "store_url" in values:
                shown["store_url"] = repr(hidden(str(values["store_url"])))
            raise ConfigError("Invalid setting: " + "; ".join(problems(exc, shown, origin))) from None
        if settings.emulator and not output_given:
            # Stand-in images do not belong in the user's pictures. A folder per user, made private
            # and refused unless it is this user's alone (as the fallback folder is): another local
            # user could make it first, plant history there, or swap saved names for links.
            temporary, name = Path(tempfile.gettempdir()), Path(f"luma-agents-emulator-{user_id()}")
            try:
                private_folder(temporary, name, create=True)
            except OSError as exc:
                problem = str(exc) if exc.strerror is None else f"{temporary / name} cannot be made ({exc.strerror})"
                raise ConfigError(f"--emulator: {problem}; or set LUMA_MCP_OUTPUT_DIR") from None
            values["output_dir"] = temporary / name
            settings = cls(**values)
        return settings
