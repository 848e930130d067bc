"""Several processes on one store, as users run them: two stdio servers on one output folder (Claude
Desktop and Claude Code side by side, on the SQLite file), HTTP replicas on one Redis with no
stickiness, and servers killed (`kill -9`) at each point of a job's life, then a new process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from ..support.processes import Standalone, standalone_emulator, stdio_server

pytestmark = pytest.mark.usefixtures("temporary_folder")


@pytest.fixture
def api() -> Iterator[Standalone]:
    with standalone_emulator("--latency", "30", "--long-edge", "64") as running:
        yield running


def environment(api: Standalone, home: Path, **extra: str) -> dict[str, str]:
    """Both servers' environment: one output folder, so one SQLite file in one state folder."""
    return {**api.server_environment(home), "LUMA_MCP_LOG_LEVEL": "INFO", **extra}


def creates(api: Standalone) -> int:
    return len([r for r in api.requests() if r["route"] == "create"])


def images(folder: Path) -> list[Path]:
    """The images a user sees in the folder (not a download in progress)."""
    return sorted(path for path in folder.glob("*.png") if not path.name.startswith("."))


def test_two_stdio_servers_on_one_folder_reuse_one_job_and_save_it_once(api: Standalone, tmp_path: Path) -> None:
    env = environment(api, tmp_path, LUMA_MCP_WAIT_SECONDS="0")  # calls hand off at once
    with stdio_server(env) as desktop, stdio_server(env) as code:
        first = desktop.tool("generate_image", {"prompt": "a fox on two hosts"})
        again = code.tool("generate_image", {"prompt": "a fox on two hosts"})
        api.admin("clock", advance=60)
        looks = [server.call("get_generation", {"generation_id": first["generation_id"]}) for server in (desktop, code)]
        answers = [server.answer(number) for server, number in zip((desktop, code), looks, strict=True)]
    assert (again["generation_id"], again["reused"]) == (first["generation_id"], True)
    assert creates(api) == 1
    paths = {answer["structuredContent"]["outputs"][0]["path"] for answer in answers}
    assert len(paths) == 1  # both looks name the one file
    assert images(tmp_path / "images") == [Path(paths.pop())]
    assert len([r for r in api.requests() if r["route"] == "download"]) == 1


def test_a_server_killed_mid_wait_leaves_a_job_the_next_process_reuses_finishes_and_saves(
    api: Standalone, tmp_path: Path
) -> None:
    env = environment(api, tmp_path, LUMA_MCP_WAIT_SECONDS="30")
    with stdio_server(env) as killed:
        killed.call("generate_image", {"prompt": "a fox killed mid-wait"})
        killed.until_logged("queued")  # created and recorded: now waiting
        killed.kill()
    with stdio_server(environment(api, tmp_path, LUMA_MCP_WAIT_SECONDS="0")) as new:
        [listed] = new.tool("list_generations", {})["generations"]
        again = new.tool("generate_image", {"prompt": "a fox killed mid-wait"})
        api.admin("clock", advance=60)
        done = new.tool("wait_for_generation", {"generation_id": listed["generation_id"], "timeout_seconds": 30})
        [saved] = new.tool("list_generations", {})["generations"]
    assert listed["state"] == "queued"
    assert (again["generation_id"], again["reused"]) == (listed["generation_id"], True)
    assert creates(api) == 1
    assert done["state"] == "completed"
    assert images(tmp_path / "images") == [Path(done["outputs"][0]["path"])]
    assert [f["path"] for f in saved["files"]] == [done["outputs"][0]["path"]]


def test_a_server_killed_mid_download_leaves_the_image_to_the_next_look_which_saves_it_once(
    api: Standalone, tmp_path: Path
) -> None:
    env = environment(api, tmp_path, LUMA_MCP_WAIT_SECONDS="0")
    with stdio_server(env) as killed:
        made = killed.tool("generate_image", {"prompt": "a fox killed mid-download"})
        api.admin("clock", advance=60)
        api.admin("faults", route="download", kind="slow", delay=120)  # the download hangs
        killed.call("get_generation", {"generation_id": made["generation_id"]})
        anyio.run(api.until_requested, "download")
        killed.kill()
    with stdio_server(env) as new:
        looked = new.tool("get_generation", {"generation_id": made["generation_id"]})
        [listed] = new.tool("list_generations", {})["generations"]
    assert looked["state"] == "completed"
    assert images(tmp_path / "images") == [Path(looked["outputs"][0]["path"])]
    assert [f["path"] for f in listed["files"]] == [looked["outputs"][0]["path"]]
    assert creates(api) == 1


def test_a_server_killed_between_send_and_answer_leaves_a_lost_answer_no_process_resends(
    api: Standalone, tmp_path: Path
) -> None:
    env = environment(api, tmp_path, LUMA_MCP_WAIT_SECONDS="0")
    api.admin("faults", route="create", kind="slow", delay=30, created=True)
    with stdio_server(env) as killed:
        killed.call("generate_image", {"prompt": "a fox whose answer was lost"})
        anyio.run(api.until_requested, "create")  # sent; the answer has not come
        killed.kill()
    with stdio_server(env) as new:
        refused = new.tool("generate_image", {"prompt": "a fox whose answer was lost"})
        listed = new.tool("list_generations", {})["generations"]
        forced = new.tool("generate_image", {"prompt": "a fox whose answer was lost", "new_variation": True})
    assert refused["is_error"]
    assert "was not sent" in refused["text"]
    assert listed == []  # its id cannot be known: nothing is claimed in the history
    assert not forced["is_error"]
    assert creates(api) == 2  # the lost one, and the one asked for on purpose
