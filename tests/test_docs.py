"""The README, server.json and the package agree with the code."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema

import luma_mcp
from luma_mcp.config import Settings
from luma_mcp.hosts import LOOPBACK_HOSTS, LOOPBACK_ORIGINS
from luma_mcp.http_app import allowed_hosts, allowed_origins
from luma_mcp.tools import build_tools

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SERVER_JSON = json.loads((ROOT / "server.json").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REGISTRY_SCHEMA = ROOT / "tests" / "data" / "server.schema.json"
"""The MCP Registry's published schema (2025-12-11), kept here so the check never depends on a
checkout beside the project; `../shared/mcp/server.schema.json` is the same file."""


def _table_after(heading: str) -> list[list[str]]:
    """The first table under a heading, header row skipped."""
    section = README.split(f"## {heading}\n", 1)[1]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = [line for line in lines[start:] if line.startswith("|")]
    end = next((i for i, line in enumerate(lines[start:]) if not line.startswith("|")), len(rows))
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in lines[start : start + end][2:]]


def test_the_tools_table_lists_exactly_the_tools_with_their_read_only_hint() -> None:
    rows = {row[0].strip("`"): row for row in _table_after("Tools")}
    tools = {tool.name: tool for tool in build_tools(Settings())}
    assert set(rows) == set(tools)
    for name, tool in tools.items():
        assert tool.annotations is not None
        read_only = rows[name][2].startswith("yes")
        assert read_only == bool(tool.annotations.read_only_hint), name


def test_the_settings_table_lists_every_setting_with_its_flag() -> None:
    rows = {row[0].strip("`"): row[1].strip("`") or None for row in _table_after("Settings")}
    assert rows == {source.env: source.flag for source in Settings.sources()}


def test_the_readme_quick_start_is_two_commands() -> None:
    quick_start = README.split("## Quick start\n", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick_start.strip().splitlines()]
    assert commands == ["uv run luma-agents-mcp demo", "uv run pytest"]


def test_versions_agree() -> None:
    version = PYPROJECT["project"]["version"]
    assert luma_mcp.__version__ == version
    assert SERVER_JSON["version"] == version
    assert [package["version"] for package in SERVER_JSON["packages"]] == [version]


def test_the_registry_name_is_claimed_in_the_readme() -> None:
    assert re.search(rf"mcp-name: {re.escape(SERVER_JSON['name'])}\b", README)


def test_server_json_env_vars_are_real_settings() -> None:
    known = {source.env for source in Settings.sources()}
    declared = {var["name"] for package in SERVER_JSON["packages"] for var in package["environmentVariables"]}
    assert declared <= known


def test_server_json_is_valid_for_the_registry() -> None:
    schema = json.loads(REGISTRY_SCHEMA.read_text())
    assert SERVER_JSON["$schema"] == schema["$id"]
    jsonschema.validate(SERVER_JSON, schema)


def test_the_readme_says_which_hosts_and_origins_are_accepted_by_default_as_the_code_does() -> None:
    defaults = {row[0].strip("`"): row[2] for row in _table_after("Settings")}
    assert defaults["LUMA_MCP_ALLOWED_HOSTS"] == "loopback names; beyond loopback, any"
    assert defaults["LUMA_MCP_ALLOWED_ORIGINS"] == "loopback origins; beyond loopback, any"
    loopback = Settings(transport="http")
    beyond = Settings(transport="http", host="0.0.0.0", http_token="x" * 32)  # pyright: ignore[reportArgumentType]
    assert (allowed_hosts(loopback), allowed_origins(loopback)) == (LOOPBACK_HOSTS, LOOPBACK_ORIGINS)
    assert (allowed_hosts(beyond), allowed_origins(beyond)) == (None, None)  # any
