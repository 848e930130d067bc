"""Settings: flag > environment > default, and errors that say what to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from luma_mcp.config import DEFAULT_BASE_URL, ConfigError, Settings


def test_defaults_without_flags_or_environment(tmp_path: Path) -> None:
    settings = Settings.load({}, {"HOME": str(tmp_path)})
    assert settings.api_key is None
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.output_dir == tmp_path / "luma-agents"  # no Pictures folder here
    assert settings.wait_seconds == 35


def test_the_pictures_folder_is_preferred(tmp_path: Path) -> None:
    (tmp_path / "Pictures").mkdir()
    assert Settings.load({}, {"HOME": str(tmp_path)}).output_dir == tmp_path / "Pictures" / "luma-agents"


def test_flags_win_over_the_environment(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "LUMA_MCP_WAIT_SECONDS": "20", "LUMA_MCP_OUTPUT_DIR": "~/from-env"}
    settings = Settings.load({"wait_seconds": "10"}, environ)
    assert settings.wait_seconds == 10
    assert settings.output_dir == Path("~/from-env").expanduser()


def test_empty_variables_count_as_unset(tmp_path: Path) -> None:
    settings = Settings.load({}, {"HOME": str(tmp_path), "LUMA_MCP_WAIT_SECONDS": "", "LUMA_AGENTS_API_KEY": ""})
    assert (settings.wait_seconds, settings.api_key) == (35, None)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"LUMA_MCP_WAIT_SECONDS": "soon"}, "LUMA_MCP_WAIT_SECONDS='soon'"),
        ({"LUMA_MCP_WAIT_SECONDS": "9999"}, "less than or equal to 600"),
        (
            {"LUMA_BASE_URL": "agents.lumalabs.ai"},
            "LUMA_BASE_URL='agents.lumalabs.ai': Value error, must be an http(s) URL",
        ),
        ({"LUMA_MCP_LOG_LEVEL": "loud"}, "LUMA_MCP_LOG_LEVEL"),
    ],
)
def test_a_bad_value_names_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match="Invalid setting") as raised:
        Settings.load({}, environ)
    assert named in str(raised.value)


def test_a_bad_flag_is_named_as_the_flag() -> None:
    with pytest.raises(ConfigError, match="--wait-seconds='x'"):
        Settings.load({"wait_seconds": "x"}, {})


def test_the_key_is_never_echoed_in_an_error() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.load({}, {"LUMA_AGENTS_API_KEY": "luma-api-secret", "LUMA_MCP_WAIT_SECONDS": "x"})
    assert "luma-api-secret" not in str(raised.value)
    assert "luma-api-secret" not in repr(Settings.load({}, {"LUMA_AGENTS_API_KEY": "luma-api-secret"}))
