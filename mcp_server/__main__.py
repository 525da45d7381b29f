"""`qwen-mcp`: serve the repository context engine and Qwen3-Coder to MCP clients (Claude Code, Cline, ...).

`qwen-mcp [--root DIR]` speaks MCP on stdio (the client starts the process); `--http HOST:PORT` serves
streamable HTTP at http://HOST:PORT/mcp on a loopback address, for clients that connect to a URL, and requires
`Authorization: Bearer $QWEN_MCP_TOKEN` (a token is generated and written to stderr when the variable is
unset). stdout carries protocol messages only: logs go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from context.errors import ConfigError, QwenContextError
from context.serve.exit import exit_promptly
from context.version import package_version
from mcp_server.http import TOKEN_ENV, parse_loopback, serve_http
from mcp_server.server import build_server
from mcp_server.stdio import serve_stdio
from mcp_server.workspace import DEFAULT_MAX_OUTPUT_TOKENS, DEFAULT_TOOL_TIMEOUT_SECONDS, ServerSettings

logger = logging.getLogger("mcp_server")

#: The environment variable that sets the output cap when --max-output-tokens is not given.
MAX_OUTPUT_ENV = "QWEN_MCP_MAX_OUTPUT_TOKENS"
#: The smallest output cap accepted: smaller ones could not hold one page of anything.
MIN_OUTPUT_TOKENS = 2048
#: The environment variable that sets the deadline of a call when --tool-timeout is not given.
TOOL_TIMEOUT_ENV = "QWEN_MCP_TOOL_TIMEOUT"


def _output_cap(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of tokens: {text!r}") from None
    if not MIN_OUTPUT_TOKENS <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be between {MIN_OUTPUT_TOKENS} and 1,000,000 tokens")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 86,400 seconds")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwen-mcp",
        description="Serve repository context and Qwen3-Coder over the Model Context Protocol.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument("--root", help="the workspace (repository) root; default: the current directory")
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        help=f"serve streamable HTTP on a loopback address (bearer token: ${TOKEN_ENV})",
    )
    parser.add_argument(
        "--max-output-tokens",
        type=_output_cap,
        default=os.environ.get(MAX_OUTPUT_ENV, str(DEFAULT_MAX_OUTPUT_TOKENS)),
        help=f"cap of a tool result in tokens (default {DEFAULT_MAX_OUTPUT_TOKENS}; env {MAX_OUTPUT_ENV})",
    )
    parser.add_argument(
        "--tool-timeout",
        type=_seconds,
        metavar="SECONDS",
        default=os.environ.get(TOOL_TIMEOUT_ENV, str(DEFAULT_TOOL_TIMEOUT_SECONDS)),
        help=f"deadline of one tool call (default {DEFAULT_TOOL_TIMEOUT_SECONDS:g}; env {TOOL_TIMEOUT_ENV})",
    )
    parser.add_argument(
        "--no-watch", action="store_true", help="do not re-index files when they change on disk"
    )
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def _workspace_root(given: str | None) -> Path:
    """The root to serve: --root, else the current directory unless that is a home folder or `/`.

    Some clients start servers in the home folder or in `/`; indexing all of it would take hours, so the
    server refuses and says how to fix the client's configuration.
    """
    root = Path(given or ".").expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"--root {given} is not a directory")
    if given is None and root in (Path.home().resolve(), Path(root.anchor)):
        raise ConfigError(f"started in {root} without --root: add `--root /path/to/repository`")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until the client disconnects (stdio) or the process is interrupted (HTTP)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level, format="%(asctime)s %(name)s: %(message)s")
    try:
        root = _workspace_root(args.root)
        cap, watch = args.max_output_tokens, not args.no_watch
        settings = ServerSettings(
            root=root, max_output_tokens=cap, watch=watch, tool_timeout_seconds=args.tool_timeout
        )
        server = build_server(settings)
        if args.http is None:
            anyio.run(serve_stdio, server)
            exit_promptly(0)
        host, port = parse_loopback(args.http)
        token = os.environ.get(TOKEN_ENV)
        if not token:
            token = secrets.token_urlsafe(32)
            sys.stderr.write(
                f"qwen-mcp: {TOKEN_ENV} is unset; clients must send 'Authorization: Bearer {token}'\n"
            )
        shown = f"[{host}]" if ":" in host else host
        sys.stderr.write(f"qwen-mcp: serving {root} on http://{shown}:{port}/mcp\n")
        anyio.run(serve_http, server, host, port, token)
        exit_promptly(0)
    except QwenContextError as exc:
        sys.stderr.write(f"qwen-mcp: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
