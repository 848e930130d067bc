"""Assemble the MCP Bundle (`.mcpb`) folder: Claude Desktop's one-click install of this server.

    uv run python bundle/build.py [FOLDER]        # default: build/mcpb

The folder holds `manifest.json` (the `uv` server type: the host installs Python and the locked
dependencies itself; the API key asked once, as a sensitive `user_config`, and handed to the
server as `LUMA_AGENTS_API_KEY`), the package, `pyproject.toml`, `uv.lock` and the README. The
official CLI then validates and packs it (`.ci/bundle`):

    mcpb validate build/mcpb/manifest.json && mcpb pack build/mcpb dist/luma-agents-mcp-<version>.mcpb

The manifest's tools and prompts are read from the code, so it never lists what the server lacks.
"""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOMEPAGE = "https://github.com/luma-agents-mcp/luma-agents-mcp"
COPIED = ("pyproject.toml", "uv.lock", "README.md", "LICENSE")
"""Beside the package: what `uv run` needs to build and install it (hatchling reads the README)."""
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "node_modules")


def excluded() -> set[Path]:
    """What the wheel leaves out of the package (the MCP App view's source: its built file ships)."""
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    return {ROOT / path for path in wheel.get("exclude", [])}


def _skipped(folder: str, names: list[str]) -> set[str]:
    """`shutil.copytree`'s filter: caches, hidden files, and what the wheel excludes."""
    left_out = excluded()
    return set(SKIPPED(folder, names)) | {name for name in names if Path(folder) / name in left_out}


def user_config() -> dict[str, Any]:
    """What Claude Desktop asks when the bundle is installed."""
    return {
        "api_key": {
            "type": "string",
            "title": "Luma Agents API key",
            "description": "Your key from Luma (docs.agents.lumalabs.ai), kept in the system's keychain. Leave it "
            "empty and turn on the emulator to try the server offline.",
            "sensitive": True,
            "required": False,
        },
        "output_dir": {
            "type": "directory",
            "title": "Folder for images",
            "description": "Where finished images are saved, with a history of what was made.",
            "default": "${HOME}/Pictures/luma-agents",
            "required": False,
        },
        "emulator": {
            "type": "boolean",
            "title": "Use the emulator",
            "description": "Stand-in images from a built-in emulator of the API: no key, no network, no cost.",
            "default": False,
            "required": False,
        },
    }


def manifest() -> dict[str, Any]:
    """The bundle's `manifest.json` (MCPB manifest 0.4)."""
    from luma_mcp.config import Settings
    from luma_mcp.prompts import RECIPES
    from luma_mcp.tools import build_tools

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        "manifest_version": "0.4",
        "name": project["name"],
        "display_name": "Luma Agents",
        "version": project["version"],
        "description": project["description"],
        "long_description": (
            "Generate and edit images with the Luma Agents API (uni-1, uni-1-max) from Claude: every result comes "
            "back as a preview Claude can see, a file saved on your disk, a download link and data to chain the "
            "next edit. Calls return inside Claude's time limit even when an image takes a minute."
        ),
        "author": {"name": "luma-agents-mcp contributors", "url": HOMEPAGE},
        "repository": {"type": "git", "url": HOMEPAGE},
        "homepage": HOMEPAGE,
        "documentation": f"{HOMEPAGE}#readme",
        "support": f"{HOMEPAGE}/issues",
        "license": project["license"],
        "keywords": ["image", "image-generation", "image-editing", "luma", "uni-1"],
        "server": {
            "type": "uv",
            "entry_point": "luma_mcp/__main__.py",
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", "--frozen", "--no-dev", "--quiet", project["name"]],
                "env": {
                    "LUMA_AGENTS_API_KEY": "${user_config.api_key}",
                    "LUMA_MCP_OUTPUT_DIR": "${user_config.output_dir}",
                    "LUMA_MCP_EMULATOR": "${user_config.emulator}",
                },
            },
        },
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": project["requires-python"]},
        },
        "user_config": user_config(),
        "tools": [{"name": tool.name, "description": tool.description} for tool in build_tools(Settings())],
        "prompts": [
            {
                "name": recipe.name,
                "description": recipe.description,
                "arguments": [argument.name for argument in recipe.arguments],
                "text": recipe.manifest_text(),
            }
            for recipe in RECIPES
        ],
    }


def build(folder: Path) -> Path:
    """Assemble the bundle's folder (emptied first); returns its manifest's path."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(ROOT / "luma_mcp", folder / "luma_mcp", ignore=_skipped)
    for name in COPIED:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, folder / name)
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "mcpb"
    sys.stdout.write(f"{build(target.resolve())}\n")
