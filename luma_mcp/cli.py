"""Command line: parse arguments into `Settings`, then run one mode. Nothing else lives here.

luma-agents-mcp [--emulator] [setting flags]   serve MCP over stdio (what MCP clients launch)
luma-agents-mcp --transport http [--port 8000] serve MCP over Streamable HTTP at /mcp
luma-agents-mcp demo ["prompt"]                a real MCP client session against --emulator
luma-agents-mcp emulator [--port 4010]         the API emulator on a port, for any client
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from . import __version__
from .config import Settings
from .errors import ConfigError

DEMO_PROMPT = "A red fox curled up in fresh snow at dawn, soft golden light"


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for source in Settings.sources():
        if source.flag is None:
            continue
        help_text = f"{source.doc} (env {source.env})".replace("%", "%%")
        if Settings.model_fields[source.name].annotation is bool:
            parser.add_argument(source.flag, dest=source.name, action="store_true", default=None, help=help_text)
        else:
            parser.add_argument(source.flag, dest=source.name, default=None, metavar="VALUE", help=help_text)


def _add_emulator_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    emulator = commands.add_parser(
        "emulator",
        help="serve the Luma Agents API emulator on a port, for any client (official SDKs included)",
        description="Serve an emulator of the Luma Agents API. Point a client at the printed "
        "LUMA_BASE_URL with any key that starts with luma-api-.",
    )
    emulator.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1); beyond loopback, LUMA_EMULATOR_ADMIN_TOKEN must be set, and "
        "the /_emulator admin paths then need it as a Bearer token",
    )
    emulator.add_argument("--port", type=int, default=4010, help="port to bind, 0 for any free one (default 4010)")
    emulator.add_argument(
        "--latency", type=float, default=30.0, help="seconds from request to finished image (default 30)"
    )
    emulator.add_argument(
        "--long-edge", type=int, default=2048, help="long edge of rendered images in px (default 2048)"
    )
    emulator.add_argument("--rpm", type=int, default=30, help="requests per minute per key (default 30)")
    emulator.add_argument("--concurrency", type=int, default=10, help="unfinished jobs per key (default 10)")
    emulator.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="MODEL/TYPE=UNITS",
        help="rate-limit units of a kind of request, e.g. uni-1-max/image_edit=3 (repeatable)",
    )
    emulator.add_argument(
        "--api-key", action="append", default=None, metavar="KEY", help="accept only these keys (repeatable)"
    )
    emulator.add_argument(
        "--fetch-urls",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fetch url image inputs over the network (default: on when bound to loopback, where it cannot "
        "be used to make this machine fetch for others)",
    )
    emulator.add_argument(
        "--storage-url", default=None, help="base URL for output links (default: this server as localhost)"
    )
    emulator.add_argument(
        "--stock-images",
        action="store_true",
        help="serve one image per size and format, rendered once, for every generation (for benchmarks of a "
        "client: the emulator's rendering then stays out of the measurement)",
    )
    emulator.add_argument(
        "--state-dir",
        default=None,
        metavar="DIR",
        help="keep generations and uploaded files in DIR (one SQLite file), so that a restarted emulator, or "
        "another one on the same DIR, still knows them (default: in memory only)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="luma-agents-mcp",
        description="MCP server for image generation and editing with the Luma Agents API. "
        "Without a command it serves MCP over stdio, as MCP clients launch it.",
    )
    parser.add_argument("--version", action="version", version=f"luma-agents-mcp {__version__}")
    _add_setting_flags(parser)
    commands = parser.add_subparsers(dest="command", metavar="{demo,emulator}")
    demo = commands.add_parser(
        "demo",
        help="run a real MCP client session against the server with --emulator, and show the result",
        description="Spawn this server over stdio with its embedded emulator (no key, no network), as an MCP "
        "client would: list the tools, call generate_image with the prompt, and show what came back (the state, the "
        "saved file, sizes and timings). Setting flags given before `demo` are passed on to the server.",
    )
    demo.add_argument(
        "prompt", nargs="?", default=DEMO_PROMPT, help=f"what to draw, in quotes (default: {DEMO_PROMPT!r})"
    )
    _add_emulator_command(commands)
    return parser


def _run_emulator(args: argparse.Namespace) -> int:
    from .emulator.config import EmulatorConfig
    from .emulator.standalone import ADMIN_TOKEN_ENV, serve
    from .hosts import is_loopback

    admin_token = os.environ.get(ADMIN_TOKEN_ENV, "").strip() or None
    if admin_token is None and not is_loopback(args.host):
        # Anyone who reaches the admin paths can reset the emulator or change its keys.
        raise SystemExit(
            f"luma-agents-mcp emulator: serving on {args.host} (not loopback) needs {ADMIN_TOKEN_ENV}, a secret "
            "the /_emulator admin paths then require as 'Authorization: Bearer <token>'; or bind to 127.0.0.1"
        )

    weights: dict[str, int] = {}
    for item in args.weight:
        kind, _, units = item.partition("=")
        if "/" not in kind or not units.isdigit():
            raise SystemExit(f"--weight {item!r}: expected MODEL/TYPE=UNITS, e.g. uni-1-max/image_edit=3")
        weights[kind] = int(units)
    config = EmulatorConfig(
        latency=args.latency,
        long_edge=args.long_edge,
        rpm=args.rpm,
        concurrency=args.concurrency,
        weights=weights,
        api_keys=frozenset(args.api_key) if args.api_key else None,
        fetch_urls=args.fetch_urls if args.fetch_urls is not None else is_loopback(args.host),
        stock_images=args.stock_images,
        admin_token=admin_token,
        state_dir=args.state_dir,
        **({"storage_base_url": args.storage_url} if args.storage_url else {}),
    )
    with contextlib.suppress(KeyboardInterrupt):
        serve(config, host=args.host, port=args.port)
    return 0


def _configure_logging(level: str) -> None:
    # stdout carries the MCP protocol: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx2", "httpcore2", "httpx", "httpcore"):
        # Their INFO lines print output URLs, whose signatures grant an hour of access.
        logging.getLogger(noisy).setLevel(logging.WARNING)


def start_line(settings: Settings) -> str:
    """What a person who started the server in a terminal is told: what it waits for, whether it
    has a key, and where images go."""
    from .api.keys import other_provider

    key = settings.api_key.get_secret_value() if settings.api_key else None
    other = other_provider(key) if key else None
    if settings.emulator:
        account = "the embedded emulator (no key needed)"
    elif key is None:
        account = "no LUMA_AGENTS_API_KEY set (calls will say how; --emulator tries it offline)"
    elif other is not None:
        account = f"LUMA_AGENTS_API_KEY holds {other[1]} key ({other[0]}...), not a Luma one"
    else:
        account = "LUMA_AGENTS_API_KEY set"
    images = f"images go to {settings.output_dir}" if settings.keeps_files else "no images are kept"
    return (
        f"luma-agents-mcp {__version__}: waiting for an MCP client on stdin (add this command to your client's "
        f"config; Ctrl-C quits). Account: {account}; {images}."
    )


def _given_flags(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The setting flags given on this command line, to pass on to a server we spawn."""
    return [
        (source.flag, str(getattr(args, source.name)))
        for source in Settings.sources()
        if source.flag and getattr(args, source.name, None) is not None
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        return _run_emulator(args)
    if args.command == "demo":
        import anyio

        from .demo import run_demo

        passed = [f"{flag}={value}" for flag, value in _given_flags(args) if flag != "--emulator"]
        return anyio.run(run_demo, args.prompt, passed)
    try:
        settings = Settings.load({name: value for name, value in vars(args).items() if name != "command"})
    except ConfigError as exc:
        sys.stderr.write(f"luma-agents-mcp: {exc}\n")
        return 2
    _configure_logging(settings.log_level)
    if settings.transport == "stdio" and sys.stdin.isatty():
        # A person ran it in a terminal, where an MCP server otherwise says nothing at all.
        sys.stderr.write(start_line(settings) + "\n")
        sys.stderr.flush()
    if settings.transport == "http":
        from .http_app import serve_http

        serve_http(settings)
        return 0
    from .server import build_server

    with contextlib.suppress(KeyboardInterrupt):
        build_server(settings).run()
    return 0
