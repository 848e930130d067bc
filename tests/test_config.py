"""Settings: flag > environment > default, and errors that say what to set."""

from __future__ import annotations

import os
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
            "LUMA_BASE_URL='agents.lumalabs.ai': must be an http(s) URL",
        ),
        ({"LUMA_MCP_LOG_LEVEL": "loud"}, "LUMA_MCP_LOG_LEVEL"),
        (
            {"LUMA_BASE_URL": "https://agents.lumalabs.ai"},
            "LUMA_BASE_URL='https://agents.lumalabs.ai': must end in /v1, where the API's paths begin (without it "
            "every request answers 404 Not Found), e.g. https://agents.lumalabs.ai/v1",
        ),
        ({"LUMA_BASE_URL": "http://127.0.0.1:4010/"}, "LUMA_BASE_URL='http://127.0.0.1:4010/': must end in /v1"),
        (
            {"LUMA_MCP_OUTPUT_DIR": "s3://team-images/luma", "LUMA_MCP_SAVE_OUTPUTS": "false"},
            "but LUMA_MCP_SAVE_OUTPUTS is off, so nothing would be saved there: drop one of the two",
        ),
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


def test_a_pasted_key_loses_its_stray_whitespace() -> None:
    settings = Settings.load({}, {"LUMA_AGENTS_API_KEY": " luma-api-abc\n"})
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "luma-api-abc"


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://agents.lumalabs.ai/v1", True),
        ("http://127.0.0.1:4010/v1", True),
        ("http://localhost:4010/v1", True),
        ("http://api.luma-emulator.test/v1", True),
        ("http://agents.lumalabs.ai/v1", False),
        ("ftp://agents.lumalabs.ai/v1", False),
    ],
)
def test_the_key_never_goes_over_plain_http_to_a_remote_host(url: str, accepted: bool) -> None:
    if accepted:
        assert Settings.load({}, {"LUMA_BASE_URL": url}).base_url == url
    else:
        with pytest.raises(ConfigError, match="LUMA_BASE_URL"):
            Settings.load({}, {"LUMA_BASE_URL": url})


def test_a_relative_output_dir_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings.load({"output_dir": "pictures"}, {}).output_dir == tmp_path / "pictures"


def test_the_emulator_saves_its_stand_ins_apart_unless_told_otherwise(tmp_path: Path, temporary_folder: Path) -> None:
    home = {"HOME": str(tmp_path / "home")}
    emulated = Settings.load({"emulator": True}, home)
    assert emulated.output_dir == temporary_folder / f"luma-agents-emulator-{os.getuid()}"  # one per user
    assert isinstance(emulated.output_dir, Path)
    assert emulated.output_dir.stat().st_mode & 0o777 == 0o700  # made private: nobody else reads or plants
    assert Settings.load({"emulator": True}, home).output_dir == emulated.output_dir  # and used again
    chosen = Settings.load({"emulator": True, "output_dir": str(tmp_path / "x")}, home)
    assert chosen.output_dir == tmp_path / "x"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="Windows: the temporary folder is the user's own")
@pytest.mark.parametrize("planted", ["open-to-all", "group-writable", "someone-elses", "a-link"])
def test_an_emulator_folder_someone_else_could_write_is_refused_at_start(
    planted: str, tmp_path: Path, temporary_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if planted == "someone-elses":  # made first by another user, private to them
        monkeypatch.setattr(os, "getuid", lambda: 4242)
    folder = temporary_folder / f"luma-agents-emulator-{os.getuid()}"
    if planted == "a-link":
        (tmp_path / "theirs").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "theirs")
    else:
        folder.mkdir()
        folder.chmod({"open-to-all": 0o777, "group-writable": 0o770, "someone-elses": 0o700}[planted])
        log = folder / ".luma-agents" / "history.jsonl"  # their history, which must not be believed
        log.parent.mkdir()
        log.write_text('{"generation_id": "planted"}\n')
    with pytest.raises(ConfigError) as refused:
        Settings.load({"emulator": True}, {"HOME": str(tmp_path / "home")})
    assert f"{folder} is not a private folder of this user (remove it)" in str(refused.value)
    assert "LUMA_MCP_OUTPUT_DIR" in str(refused.value)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="Windows: the temporary folder is the user's own")
def test_an_emulator_folder_of_ours_others_could_only_read_is_made_private(
    tmp_path: Path, temporary_folder: Path
) -> None:
    folder = temporary_folder / f"luma-agents-emulator-{os.getuid()}"
    folder.mkdir(mode=0o755)  # as an earlier version left it: nobody else could write in it
    folder.chmod(0o755)
    (folder / "fox.png").write_bytes(b"kept")
    assert Settings.load({"emulator": True}, {"HOME": str(tmp_path / "home")}).output_dir == folder
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "fox.png").read_bytes() == b"kept"


@pytest.mark.parametrize(("flags", "environ"), [({"byok": True}, {}), ({}, {"LUMA_MCP_BYOK": "1"})])
def test_bring_your_own_key_over_stdio_is_refused_saying_what_to_set(
    flags: dict[str, object], environ: dict[str, str]
) -> None:
    # Over stdio no request carries a key: the server would start and then fail every call.
    with pytest.raises(ConfigError) as raised:
        Settings.load(flags, environ)
    assert "--transport http" in str(raised.value)
    assert "X-Luma-Agents-Api-Key" in str(raised.value)
    assert Settings.load({**flags, "transport": "http"}, environ).byok
