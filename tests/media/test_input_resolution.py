"""Image inputs from wherever the agent has them: what reaches the API, and what never does."""

from __future__ import annotations

import io
import os
import random
import struct
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import TextContent
from PIL import Image
from pydantic import SecretStr

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator

from ..support.samples import b64, png_bytes
from ..support.servers import make_server, structured

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    folder = tmp_path / "pictures"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(emulator: Emulator, output_dir: Path, pictures: Path) -> Settings:
    return Settings(
        api_key="luma-api-test-key",  # pyright: ignore[reportArgumentType]
        base_url=emulator.base_url,
        output_dir=output_dir,
        allowed_dirs=[pictures],
    )


@pytest.fixture
async def client(settings: Settings, emulator: Emulator) -> Any:
    async with Client(make_server(settings, emulator)) as connected:
        yield connected


def sent_refs(emulator: Emulator) -> list[dict[str, Any]]:
    return emulator.requests_to("create")[-1].body["image_ref"]


def jpeg_bytes(size: tuple[int, int] = (30, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_a_small_local_file_goes_inline_with_its_sniffed_type(
    client: Client, emulator: Emulator, pictures: Path
) -> None:
    (pictures / "cat.png").write_bytes(png_bytes())
    (pictures / "dog.jpeg").write_bytes(jpeg_bytes())
    result = await client.call_tool(
        "generate_image",
        {"prompt": "x", "image_ref": [{"path": str(pictures / "cat.png")}, {"path": str(pictures / "dog.jpeg")}]},
    )
    assert not result.is_error, result.content
    assert sent_refs(emulator) == [
        {"data": b64(png_bytes()), "media_type": "image/png"},
        {"data": b64(jpeg_bytes()), "media_type": "image/jpeg"},
    ]


async def test_home_relative_and_file_urls_are_paths(
    client: Client, emulator: Emulator, pictures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(pictures.parent))
    (pictures / "cat.png").write_bytes(png_bytes())
    refs = [{"path": "~/pictures/cat.png"}, {"url": (pictures / "cat.png").as_uri()}]
    result = await client.call_tool("generate_image", {"prompt": "x", "image_ref": refs})
    assert not result.is_error, result.content
    assert sent_refs(emulator) == [{"data": b64(png_bytes()), "media_type": "image/png"}] * 2


async def test_urls_generation_ids_file_ids_and_data_pass_through(client: Client, emulator: Emulator) -> None:
    emulator.register_url("https://images.example.com/cat.png", png_bytes())
    first = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
    uploaded = structured(
        await client.call_tool("upload_image", {"data": b64(png_bytes((50, 50))), "media_type": "image/png"})
    )
    refs = [
        {"url": "https://images.example.com/cat.png"},
        {"generation_id": first["generation_id"]},
        {"file_id": uploaded["file_id"]},
        {"data": b64(png_bytes()), "media_type": "image/png"},
        {"data": "data:image/jpeg;base64," + b64(jpeg_bytes())},
    ]
    result = await client.call_tool("generate_image", {"prompt": "x", "image_ref": refs})
    assert not result.is_error, result.content
    assert sent_refs(emulator) == [
        {"url": "https://images.example.com/cat.png"},
        {"generation_id": first["generation_id"]},
        {"file_id": uploaded["file_id"]},
        {"data": b64(png_bytes()), "media_type": "image/png"},
        {"data": b64(jpeg_bytes()), "media_type": "image/jpeg"},
    ]


async def test_an_edit_chain_by_generation_id(client: Client, emulator: Emulator, pictures: Path) -> None:
    (pictures / "photo.png").write_bytes(png_bytes((64, 40)))
    first = structured(
        await client.call_tool("edit_image", {"prompt": "sepia", "source": {"path": str(pictures / "photo.png")}})
    )
    second = structured(
        await client.call_tool(
            "edit_image", {"prompt": "add snow", "source": {"generation_id": first["generation_id"]}}
        )
    )
    third = structured(
        await client.call_tool(
            "edit_image", {"prompt": "at night", "source": {"generation_id": second["generation_id"]}}
        )
    )
    assert [d["state"] for d in (first, second, third)] == ["completed"] * 3
    assert (third["outputs"][0]["width"], third["outputs"][0]["height"]) == (64, 40)
    assert emulator.requests_to("create")[-1].body["source"] == {"generation_id": second["generation_id"]}


def noisy_png(megabytes: float) -> bytes:
    side = int((megabytes * 1_000_000 / 3) ** 0.5)
    pixels = random.Random(7).randbytes(side * side * 3)  # noise does not compress: the file stays large
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


async def test_a_large_file_goes_through_the_files_api_once(client: Client, emulator: Emulator, pictures: Path) -> None:
    big = noisy_png(10.5)
    assert len(big) > 10_000_000
    (pictures / "big.png").write_bytes(big)
    arguments = {"prompt": "x", "image_ref": [{"path": str(pictures / "big.png")}]}
    first = await client.call_tool("generate_image", arguments)
    assert not first.is_error, first.content
    files = [
        (r.method, r.route, r.path.rsplit("/", 1)[-1]) for r in emulator.requests if r.route in ("files", "upload")
    ]
    [file_id] = {r.path.split("/")[3] for r in emulator.requests if r.route == "files" and r.method == "GET"}
    assert files[0] == ("POST", "files", "files")  # create
    assert files[1][:2] == ("PUT", "upload")  # the bytes, to storage
    assert files[2] == ("POST", "files", "complete")
    upload = emulator.requests_to("upload")[0]
    assert upload.body_bytes == len(big)
    assert not upload.authorization_sent  # the key never goes to storage
    assert sent_refs(emulator) == [{"file_id": file_id}]

    second = await client.call_tool("generate_image", arguments)
    assert not second.is_error
    assert len(emulator.requests_to("upload")) == 1  # the same content is not uploaded twice
    assert sent_refs(emulator) == [{"file_id": file_id}]


async def test_upload_image_returns_a_reusable_file_id(client: Client, emulator: Emulator, pictures: Path) -> None:
    (pictures / "cat.png").write_bytes(png_bytes())
    first = structured(await client.call_tool("upload_image", {"path": str(pictures / "cat.png")}))
    again = structured(await client.call_tool("upload_image", {"data": b64(png_bytes()), "media_type": "image/png"}))
    assert (first["reused"], again["reused"]) == (False, True)
    assert first["file_id"] == again["file_id"]
    assert first["sha256"] == again["sha256"]
    assert len(emulator.requests_to("upload")) == 1
    edit = await client.call_tool("edit_image", {"prompt": "x", "source": {"file_id": first["file_id"]}})
    assert not edit.is_error


async def test_a_small_threshold_sends_everything_through_the_files_api(
    settings: Settings, emulator: Emulator, pictures: Path
) -> None:
    (pictures / "cat.png").write_bytes(png_bytes())
    async with Client(make_server(settings.model_copy(update={"upload_threshold_mb": 0}), emulator)) as client:
        await client.call_tool("generate_image", {"prompt": "x", "image_ref": [{"path": str(pictures / "cat.png")}]})
    assert "file_id" in sent_refs(emulator)[0]


def confinement_corpus(tmp_path: Path, pictures: Path) -> list[tuple[str, str]]:
    """(path as the agent writes it, words the refusal must hold); each built on disk here."""
    outside = tmp_path / "secret.png"
    outside.write_bytes(png_bytes())
    (pictures / "link.png").symlink_to(outside)
    (pictures / "nested").mkdir()
    (pictures / "nested" / "deep-link.png").symlink_to(Path("..") / ".." / "secret.png")
    os.mkfifo(pictures / "pipe.png")
    (pictures / "folder.png").mkdir()
    with (pictures / "huge.png").open("wb") as file:  # sparse: 60 MB on paper, nothing on disk
        file.write(b"\x89PNG\r\n\x1a\n")
        file.truncate(60 * 1024 * 1024)
    (pictures / "notes.png").write_text("this is text with an image name")
    (pictures / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    (pictures / ".ssh").mkdir()
    (pictures / ".ssh" / "id.png").write_bytes(png_bytes())
    (pictures / ".hidden.png").write_bytes(png_bytes())
    return [
        (str(pictures / ".." / "secret.png"), "outside the folders"),
        (str(pictures) + "/.." * 20 + "/etc/passwd", "outside the folders"),
        (str(tmp_path / "elsewhere" / "missing.png"), "outside the folders"),  # no probing outside: not "missing"
        ("/etc/hostname", "outside the folders"),
        (str(pictures / "link.png"), "outside the folders"),
        (str(pictures / "nested" / "deep-link.png"), "outside the folders"),
        ("/proc/self/environ", "outside the folders"),
        (str(pictures / "pipe.png"), "is a pipe, not a regular image file"),
        (str(pictures / "folder.png"), "is a folder, not a regular image file"),
        (str(pictures / "huge.png"), "the API takes images up to 50 MB"),
        (str(pictures / "notes.png"), "is not a PNG, JPEG, WebP or GIF image"),
        (str(pictures / "photo.heic"), "convert it to JPEG or PNG first"),
        (str(pictures / ".ssh" / "id.png"), "hidden .ssh"),
        (str(pictures / ".hidden.png"), "hidden .hidden.png"),
        (str(pictures / "missing.png"), "does not exist"),
        ("C:\\Users\\me\\cat.png", "Windows path"),
        ("\\\\fileserver\\share\\cat.png", "on a network share"),
        ("\\\\?\\C:\\Users\\me\\cat.png", "Windows device path"),
    ]


async def test_the_confinement_corpus_is_refused_with_no_escape(
    client: Client, emulator: Emulator, tmp_path: Path, pictures: Path
) -> None:
    corpus = confinement_corpus(tmp_path, pictures)
    escapes = []
    for raw, words in corpus:
        for tool, arguments in (
            (
                "generate_image",
                {"prompt": "x", "image_ref": [{"data": b64(png_bytes()), "media_type": "image/png"}, {"path": raw}]},
            ),
            ("edit_image", {"prompt": "x", "source": {"path": raw}}),
            ("upload_image", {"path": raw}),
        ):
            result = await client.call_tool(tool, arguments)
            text = "".join(b.text for b in result.content if isinstance(b, TextContent))
            if not result.is_error or words not in text:
                escapes.append((tool, raw, text))
            field = {"generate_image": "image_ref[1]", "edit_image": "source", "upload_image": "image"}[tool]
            assert f"{field}: " in text, text
    assert escapes == []
    assert emulator.requests == []  # nothing reached the API, not even an upload


async def test_an_allowed_hidden_folder_named_explicitly_is_read(
    settings: Settings, emulator: Emulator, pictures: Path
) -> None:
    hidden = pictures / ".cache"
    hidden.mkdir()
    (hidden / "cat.png").write_bytes(png_bytes())
    server = make_server(settings.model_copy(update={"allowed_dirs": [hidden]}), emulator)
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "image_ref": [{"path": str(hidden / "cat.png")}]}
        )
    assert not result.is_error, result.content


async def test_a_hidden_folder_listed_beside_its_parent_is_read_and_no_other(
    settings: Settings, emulator: Emulator, pictures: Path
) -> None:
    art, ssh = pictures / ".art", pictures / ".ssh"
    for folder in (art, ssh):
        folder.mkdir()
        (folder / "cat.png").write_bytes(png_bytes())
    for number, listed in enumerate(([pictures, art], [art, pictures])):
        async with Client(make_server(settings.model_copy(update={"allowed_dirs": listed}), emulator)) as client:
            source = {"path": str(art / "cat.png")}
            read = await client.call_tool("edit_image", {"prompt": f"x{number}", "source": source})
            refused = await client.call_tool("edit_image", {"prompt": "x", "source": {"path": str(ssh / "cat.png")}})
        assert not read.is_error, read.content
        assert refused.is_error
        assert "hidden .ssh" in refused.content[0].text  # type: ignore[union-attr]
    assert len(emulator.requests_to("create")) == 2


async def test_a_file_url_on_another_host_is_refused_before_anything_is_sent(
    client: Client, emulator: Emulator
) -> None:
    result = await client.call_tool("edit_image", {"prompt": "x", "source": {"url": "file://fileserver/share/cat.png"}})
    assert result.is_error
    assert "source: url names a file on 'fileserver'" in result.content[0].text  # type: ignore[union-attr]
    assert emulator.requests == []


async def test_large_data_goes_through_the_files_api_decoded(settings: Settings, emulator: Emulator) -> None:
    image = png_bytes((60, 40))
    server = make_server(settings.model_copy(update={"upload_threshold_mb": 0}), emulator)
    async with Client(server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "x", "source": {"data": "data:image/png;base64," + b64(image)}}
        )
    assert not result.is_error, result.content
    assert [r.body_bytes for r in emulator.requests_to("upload")] == [len(image)]
    assert "file_id" in emulator.requests_to("create")[0].body["source"]


async def test_the_same_image_sent_by_parallel_calls_is_uploaded_once(settings: Settings, emulator: Emulator) -> None:
    image = {"data": b64(png_bytes()), "media_type": "image/png"}
    emulator.inject("upload", "slow", delay=20)  # the first upload stays in flight until the clock moves
    server = make_server(settings.model_copy(update={"upload_threshold_mb": 0}), emulator)
    uploads: list[dict[str, Any]] = []
    async with Client(server) as client:

        async def upload() -> None:
            uploads.append(structured(await client.call_tool("upload_image", image)))

        async def generate() -> None:
            result = await client.call_tool("generate_image", {"prompt": "a fox", "image_ref": [image]})
            assert not result.is_error, result.content

        async with anyio.create_task_group() as calls:
            calls.start_soon(upload)
            calls.start_soon(upload)
            calls.start_soon(generate)
            await anyio.wait_all_tasks_blocked()  # every call has arrived; the first upload hangs
            emulator.clock.advance(20)
    assert len(emulator.requests_to("upload")) == 1
    assert sorted(u["reused"] for u in uploads) == [False, True]
    assert {u["file_id"] for u in uploads} == {emulator.requests_to("create")[0].body["image_ref"][0]["file_id"]}


async def test_an_upload_is_not_reused_once_it_nears_its_expiry(
    settings: Settings, emulator: Emulator, pictures: Path
) -> None:
    (pictures / "cat.png").write_bytes(png_bytes())
    day = 24 * 3600
    server = make_server(settings.model_copy(update={"upload_threshold_mb": 0}), emulator)
    async with Client(server) as client:

        async def generate(prompt: str) -> None:
            arguments = {"prompt": prompt, "image_ref": [{"path": str(pictures / "cat.png")}]}
            result = await client.call_tool("generate_image", arguments)
            assert not result.is_error, result.content

        await generate("a fox")
        emulator.clock.advance(5 * day)  # two days left: still reused
        await generate("a cat")
        assert len(emulator.requests_to("upload")) == 1
        emulator.clock.advance(2 * day)  # the first upload has expired (the Files API keeps them 7 days)
        await generate("a dog")
        again = structured(await client.call_tool("upload_image", {"path": str(pictures / "cat.png")}))
    first, second, third = (r.body["image_ref"][0]["file_id"] for r in emulator.requests_to("create"))
    assert first == second != third
    assert len(emulator.requests_to("upload")) == 2
    assert (again["file_id"], again["reused"]) == (third, True)


async def test_an_animated_gif_is_refused(client: Client, emulator: Emulator, pictures: Path) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(pictures / "anim.gif", save_all=True, append_images=frames[1:])
    result = await client.call_tool("edit_image", {"prompt": "x", "source": {"path": str(pictures / "anim.gif")}})
    assert result.is_error
    assert "animated GIF" in result.content[0].text  # type: ignore[union-attr]
    assert emulator.requests == []


async def test_a_path_sent_to_a_server_that_reads_no_files_says_to_send_data_instead(
    emulator: Emulator, output_dir: Path, pictures: Path
) -> None:
    # Over HTTP no folder may be read by default: the caller's paths are on its own machine.
    (pictures / "cat.png").write_bytes(png_bytes())
    key = SecretStr("luma-api-test-key")
    settings = Settings(api_key=key, base_url=emulator.base_url, output_dir=output_dir, transport="http")
    assert settings.readable_dirs == []
    path = str(pictures / "cat.png")
    async with Client(make_server(settings, emulator)) as client:
        edit = await client.call_tool("edit_image", {"prompt": "x", "source": {"path": path}})
        upload = await client.call_tool("upload_image", {"path": path})
    for result, field in ((edit, "source"), (upload, "image")):
        assert result.is_error
        text = result.content[0].text  # type: ignore[union-attr]
        assert f"{field}: {path} was not read: this server is set to read no local files" in text
        assert "`data` (base64) or a `url`" in text
        assert "upload_image from `data`" in text
        assert "()" not in text
        assert "Whoever runs the server can let it read folders" in text  # named as the operator's, not the caller's
    assert emulator.requests == []


def gif_claiming(width: int, height: int) -> bytes:
    """A few bytes of GIF whose screen and one frame claim `width`×`height` pixels."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    return screen + b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00;"


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        # The GIF magic, then nothing Pillow can read: these used to escape as a bare tool error.
        (b"GIF89a" + b"\0" * 10, "is not a readable GIF image"),
        (b"GIF89a" + b"\0" * 30, "is not a readable GIF image"),
        (b"GIF89a" + b"\0" * 10 + b"\x10\x00\x10\x00\xf7\x00\x00" + b"\xff" * 30, "is not a readable GIF image"),
        (gif_claiming(65535, 65535), "declares more pixels than an image input can have"),
    ],
    ids=["truncated", "zeros", "garbled", "billions-of-pixels"],
)
async def test_a_gif_pillow_cannot_read_is_refused_naming_the_file(
    client: Client, emulator: Emulator, pictures: Path, content: bytes, refusal: str
) -> None:
    gif = pictures / "odd.gif"
    gif.write_bytes(content)
    result = await client.call_tool("edit_image", {"prompt": "x", "source": {"path": str(gif)}})
    assert result.is_error
    assert f"source: {gif} {refusal}" in result.content[0].text  # type: ignore[union-attr]
    assert emulator.requests == []


async def test_the_saved_output_folder_is_readable_by_default(
    emulator: Emulator, output_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(api_key="luma-api-test-key", base_url=emulator.base_url, output_dir=output_dir)  # pyright: ignore[reportArgumentType]
    assert settings.readable_dirs[0] == output_dir
    async with Client(make_server(settings, emulator)) as client:
        first = structured(await client.call_tool("generate_image", {"prompt": "a fox"}))
        edit = await client.call_tool("edit_image", {"prompt": "x", "source": {"path": first["outputs"][0]["path"]}})
    assert not edit.is_error, edit.content
    # The emulator's log keeps a long string as its length: the saved file's, in base64.
    saved = Path(first["outputs"][0]["path"]).read_bytes()
    expected = {"data": f"<{len(b64(saved))} chars>", "media_type": "image/png"}
    assert emulator.requests_to("create")[-1].body["source"] == expected


@pytest.mark.parametrize("raw", ["cat.png", "./cat.png", "pictures/cat.png", " /cat.png"])
async def test_a_relative_path_is_refused_saying_to_give_an_absolute_one(
    client: Client, emulator: Emulator, pictures: Path, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    (pictures / "cat.png").write_bytes(png_bytes())
    (pictures / "pictures").mkdir()
    (pictures / "pictures" / "cat.png").write_bytes(png_bytes())
    monkeypatch.chdir(pictures)  # the server's working folder holds such a file: it is not read even so
    for tool, arguments, field in (
        ("edit_image", {"prompt": "x", "source": {"path": raw}}, "source"),
        ("upload_image", {"path": raw}, "image"),
    ):
        result = await client.call_tool(tool, arguments)
        assert result.is_error
        text = "".join(b.text for b in result.content if isinstance(b, TextContent))
        assert f"{field}: {raw} is a relative path" in text
        assert "give an absolute path (like " in text
        assert "or one starting with ~ (like ~/Pictures/cat.png)" in text
        assert "LUMA_MCP_ALLOWED_DIRS" not in text
    assert emulator.requests == []
