"""The ``qwen-lsp`` console script: the language server over stdio, or over TCP on loopback for debugging."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import multiprocessing
import socket
import sys
from collections.abc import Sequence

from context.serve.exit import exit_promptly
from context.version import package_version


def _loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwen-lsp", description="Repository-level Qwen3-Coder completions and code actions over LSP.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT",
                        help="listen on a loopback TCP port instead (debugging)")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="stderr log level (DEBUG also logs each completion's timings)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and serve until the client says ``exit``; the exit code follows LSP (0 after
    ``shutdown``, else 1)."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.log_level != "DEBUG":  # pygls logs every message it sends at INFO
        logging.getLogger("pygls").setLevel(logging.WARNING)
    if args.tcp is not None:
        host, _, port = args.tcp.rpartition(":")
        host = host.strip("[]")
        if not port.isdigit() or not host:
            parser.error(f"--tcp wants HOST:PORT, not {args.tcp!r}")
        if not _loopback(host):
            parser.error(f"--tcp only listens on loopback (127.0.0.1, ::1, localhost), not {host!r}")

    # The server is threaded (engine, indexing, stdin reader): a forked parsing worker could inherit a held
    # lock and hang, so the engine's process pool starts workers from a fork server, the parser preloaded.
    multiprocessing.set_start_method("forkserver")
    multiprocessing.set_forkserver_preload(["context.engine"])
    from lsp_server.server import SERVER  # imported late: `--help` and argument errors stay instant

    if args.tcp is not None:
        SERVER.start_tcp(host, int(port))
        return 0
    SERVER.start_io()
    exit_promptly(SERVER.lsp.exit_code)  # 1 when the client ended the session without `shutdown`


if __name__ == "__main__":
    sys.exit(main())
