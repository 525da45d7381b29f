"""The ``qwen-lsp`` command line: stdio by default, TCP only on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import time

from lsp_helpers import QWEN_LSP

from tests.ports import free_port


def test_tcp_on_a_non_loopback_address_is_refused_with_a_clear_error() -> None:
    done = subprocess.run([QWEN_LSP, "--tcp", "0.0.0.0:2087"], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 2
    assert "only listens on loopback" in done.stderr


def test_tcp_on_loopback_answers_initialize() -> None:
    port = free_port()
    server = subprocess.Popen([QWEN_LSP, "--tcp", f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=20)
                break
            except OSError:
                assert time.monotonic() < deadline, "qwen-lsp never listened"
                time.sleep(0.1)
        with connection:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                               "params": {"capabilities": {}, "processId": None}}).encode()
            connection.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            received = b""
            while b'"id": 1' not in received and b'"id":1' not in received:
                chunk = connection.recv(65536)
                assert chunk, "connection closed before the answer"
                received += chunk
        assert b"inlineCompletionProvider" in received
    finally:
        server.terminate()
        server.wait(timeout=10)
