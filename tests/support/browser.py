"""The MCP App view in a real browser: Debian's Chromium, headless, driven by Playwright (from PyPI,
with the system's browser: Playwright's own download is not reachable). The page is the small host
in `tests/ui/host/` (the ext-apps library's AppBridge), served by Playwright itself at its own
origin; it relays the view's requests to a real MCP client session held here. Every request the
page makes is recorded, and every other origin is refused."""

from __future__ import annotations

import base64
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp import Client, StdioServerParameters

from luma_mcp.ui import VIEW_URI

from .servers import shows_apps
from .system import required_program

if TYPE_CHECKING:
    from playwright.async_api import FrameLocator, Page, Route

ROOT = Path(__file__).resolve().parents[2]
HOST_PAGE = ROOT / "tests" / "ui" / "host" / "host.html"
HOST_URL = "http://luma-test-host.localhost/"
"""The host page's own origin: the only one the page may reach."""
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
SCREENSHOTS = ROOT / "build" / "view-screenshots"
"""Where the browser test leaves a screenshot of each state (build/ is not committed)."""


def chromium() -> str:
    """Debian's Chromium: skipped locally where missing, naming the install; a failure under CI."""
    return required_program("chromium", package="chromium")


def apps_server(environment: Mapping[str, str], *args: str) -> Client:
    """This server over stdio, as a host that renders MCP Apps connects to it."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "luma_mcp", *args], env=dict(environment))
    return Client(
        params,  # pyright: ignore[reportArgumentType]
        extensions=[shows_apps()],
    )


def as_json(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass
class ViewHost:
    """The host page with the view loaded in it."""

    page: Page
    requests: list[str] = field(default_factory=list[str])
    """Every URL the page or the view asked for, in order."""
    console: list[str] = field(default_factory=list[str])
    """What the page and the view wrote to the console, with its type (a CSP violation shows up here)."""

    @property
    def view(self) -> FrameLocator:
        return self.page.frame_locator("#view")

    async def show(self, arguments: dict[str, Any], result: Any) -> None:
        """What a host does with a tool call the model made: its input, then its result."""
        await self.page.evaluate("([input, result]) => window.host.result(input, result)", [arguments, as_json(result)])

    async def log(self) -> dict[str, Any]:
        """What the view asked of the host: tool calls, links, downloads, model context, heights."""
        return await self.page.evaluate("() => JSON.parse(JSON.stringify(window.host.log))")

    async def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.locator("#view").screenshot(path=str(path))
        return path

    async def image_bytes(self, selector: str) -> bytes:
        """The bytes delivered to the view for an image: its data: URI, decoded."""
        source = await self.view.locator(selector).get_attribute("src")
        assert source is not None
        assert source.startswith("data:")
        return base64.b64decode(source.split(",", 1)[1])


@asynccontextmanager
async def view_host(client: Client, executable: str) -> AsyncIterator[ViewHost]:
    """Chromium with the host page, the view loaded in it, relaying to `client`."""
    from playwright.async_api import async_playwright

    async def relay(method: str, params: dict[str, Any]) -> Any:
        if method == "tools/call":
            return as_json(await client.call_tool(params["name"], params.get("arguments") or {}))
        if method == "resources/read":
            return as_json(await client.read_resource(params["uri"]))
        raise ValueError(f"the test host relays no {method}")

    async def serve(route: Route) -> None:
        if route.request.url == HOST_URL:
            await route.fulfill(body=HOST_PAGE.read_bytes(), content_type="text/html; charset=utf-8")
        else:
            await route.abort("blockedbyclient")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_FLAGS))
        try:
            page = await browser.new_page(viewport={"width": 760, "height": 900}, device_scale_factor=1)
            host = ViewHost(page)
            page.on("request", lambda request: host.requests.append(request.url))
            page.on("console", lambda message: host.console.append(f"{message.type}: {message.text}"))
            await page.route("**/*", serve)
            await page.expose_function("mcp", relay)
            await page.goto(HOST_URL)
            await page.evaluate("uri => window.host.load(uri)", VIEW_URI)
            yield host
        finally:
            await browser.close()


def quiet_environment(base: Mapping[str, str]) -> dict[str, str]:
    """`base` plus what keeps a spawned server's log short and its calls handing off at once."""
    return {**base, "LUMA_MCP_LOG_LEVEL": "WARNING", "LUMA_MCP_WAIT_SECONDS": "0", "PYTHONUNBUFFERED": "1"}
