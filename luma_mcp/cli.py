"""Command line: parse arguments, then run one of the modes. Nothing else lives here."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence


def _emulator_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    emulator = commands.add_parser(
        "emulator",
        help="serve the Luma Agents API emulator on a port, for any client (official SDKs included)",
        description="Serve an emulator of the Luma Agents API. Point a client at the printed "
        "LUMA_BASE_URL with any key that starts with luma-api-.",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
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
        default=True,
        help="fetch url image inputs over the network (default on)",
    )
    emulator.add_argument(
        "--storage-url", default=None, help="base URL for output links (default: this server as localhost)"
    )


def _run_emulator(args: argparse.Namespace) -> int:
    from .emulator.config import EmulatorConfig
    from .emulator.standalone import serve

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
        fetch_urls=args.fetch_urls,
        **({"storage_base_url": args.storage_url} if args.storage_url else {}),
    )
    with contextlib.suppress(KeyboardInterrupt):
        serve(config, host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="luma-agents-mcp",
        description="MCP server for image generation and editing with the Luma Agents API.",
    )
    commands = parser.add_subparsers(dest="command")
    _emulator_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        return _run_emulator(args)
    sys.stderr.write("The MCP server itself is not built yet; `luma-agents-mcp emulator` is.\n")
    return 2
