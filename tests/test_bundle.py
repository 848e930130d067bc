"""The MCP Bundle (`.mcpb`), Claude Desktop's one-click install: the folder `bundle/build.py`
assembles holds a manifest valid for MCPB 0.4, with the `uv` server type and the key as a
sensitive setting handed to the server, and the tools and prompts the server really has.
(`.ci/bundle` validates and packs it with the official CLI, then starts what it packed.)"""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema

from luma_mcp.config import Settings
from luma_mcp.prompts import RECIPES
from luma_mcp.tools import build_tools

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "data" / "mcpb-manifest-v0.4.schema.json"
"""The MCPB manifest 0.4 schema, as `@anthropic-ai/mcpb` 2.1.2 ships it (bundle/package-lock.json)."""


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bundle_build", ROOT / "bundle" / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def built(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    manifest_path: Path = build_script().build(tmp_path / "mcpb")
    return manifest_path.parent, json.loads(manifest_path.read_text())


def test_the_manifest_is_valid_for_mcpb_and_runs_the_server_with_uv(tmp_path: Path) -> None:
    _, manifest = built(tmp_path)
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (manifest["name"], manifest["version"]) == (project["name"], project["version"])
    server = manifest["server"]
    assert server["type"] == "uv"
    assert server["mcp_config"]["command"] == "uv"
    assert server["mcp_config"]["args"][-1] == "luma-agents-mcp"  # the console script pyproject.toml names
    assert "luma-agents-mcp" in project["scripts"]


def test_the_key_is_asked_once_kept_secret_and_handed_to_the_server(tmp_path: Path) -> None:
    _, manifest = built(tmp_path)
    key = manifest["user_config"]["api_key"]
    assert (key["type"], key["sensitive"]) == ("string", True)
    env = manifest["server"]["mcp_config"]["env"]
    assert env["LUMA_AGENTS_API_KEY"] == "${user_config.api_key}"
    assert set(env) <= {source.env for source in Settings.sources()}  # every variable a real setting
    assert {value.removeprefix("${user_config.").removesuffix("}") for value in env.values()} == set(
        manifest["user_config"]
    )


def test_the_manifest_lists_the_tools_and_prompts_the_server_has(tmp_path: Path) -> None:
    _, manifest = built(tmp_path)
    assert [tool["name"] for tool in manifest["tools"]] == [tool.name for tool in build_tools(Settings())]
    prompts = {prompt["name"]: prompt for prompt in manifest["prompts"]}
    assert list(prompts) == [recipe.name for recipe in RECIPES]
    for recipe in RECIPES:
        for argument in recipe.arguments:
            assert f"${{arguments.{argument.name}}}" in prompts[recipe.name]["text"]


def test_the_folder_holds_what_uv_needs_to_install_the_server_and_nothing_else(tmp_path: Path) -> None:
    folder, _ = built(tmp_path)
    files = {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}
    package = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "luma_mcp").rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and "view" not in path.relative_to(ROOT / "luma_mcp").parts
    }
    assert "luma_mcp/ui/view.html" in package  # the MCP App's one built file ships; its source does not
    assert files == package | {"manifest.json", "pyproject.toml", "uv.lock", "README.md", "LICENSE"}
