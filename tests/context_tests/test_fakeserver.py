"""The local OpenAI-compatible server itself, spoken to with the standard library's HTTP client."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from context.model.fakeserver import FakeOpenAIServer, RecordedRequest, Reply


def post(server: FakeOpenAIServer, path: str, body: dict[str, Any],
         headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **(headers or {})})
    return connection.getresponse()


def events(response: http.client.HTTPResponse) -> Iterator[str]:
    for line in response.read().decode().splitlines():
        if line.startswith("data: "):
            yield line[6:]


def test_the_models_route_lists_the_served_models() -> None:
    server = FakeOpenAIServer(models=["a", "b"])
    with server, urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as response:
        assert [m["id"] for m in json.load(response)["data"]] == ["a", "b"]


def test_a_completion_streams_as_chunked_sse_ending_with_done() -> None:
    with FakeOpenAIServer([Reply(chunks=["x", "y"])]) as server:
        response = post(server, "/v1/completions", {"model": "qwen3-coder", "prompt": "p", "stream": True})
        assert response.getheader("Transfer-Encoding") == "chunked"
        payloads = list(events(response))
    assert [json.loads(p)["choices"][0]["text"] for p in payloads[:-1]] == ["x", "y", ""]
    assert json.loads(payloads[-2])["choices"][0]["finish_reason"] == "stop"
    assert payloads[-1] == "[DONE]"


def test_a_non_streamed_chat_answer_carries_the_message() -> None:
    with FakeOpenAIServer(["hello there"]) as server:
        response = post(server, "/v1/chat/completions", {"model": "qwen3-coder", "messages": []})
        message = json.load(response)["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "hello there"}


def test_infill_streams_llama_cpp_events_ending_with_stop() -> None:
    with FakeOpenAIServer(["a b"]) as server:
        payloads = [json.loads(p) for p in events(post(server, "/infill", {"input_prefix": "", "stream": True}))]
    assert payloads == [{"content": "a", "stop": False}, {"content": " b", "stop": False},
                        {"content": "", "stop": True}]


def test_every_request_is_recorded_with_path_headers_and_body() -> None:
    with FakeOpenAIServer(["ok"]) as server:
        post(server, "/v1/chat/completions", {"model": "qwen3-coder", "messages": [{"role": "user"}]},
             {"X-Trace": "7"}).read()
    (request,) = server.requests
    assert (request.path, request.route, request.headers["x-trace"], request.finished) == (
        "/v1/chat/completions", "chat", "7", True)
    assert request.body["messages"] == [{"role": "user"}]


def test_a_function_script_answers_from_the_request() -> None:
    def script(request: RecordedRequest) -> str:
        return f"you sent {request.body['prompt']}"

    with FakeOpenAIServer(script) as server:
        answer = json.load(post(server, "/v1/completions", {"model": "qwen3-coder", "prompt": "42"}))
    assert answer["choices"][0]["text"] == "you sent 42"


@pytest.mark.parametrize(("server_args", "path", "body", "status"), [
    ({"token": "t"}, "/v1/completions", {"model": "qwen3-coder"}, 401),
    ({}, "/v1/completions", {"model": "nope"}, 404),
    ({"completions": False}, "/v1/completions", {"model": "qwen3-coder"}, 404),
    ({}, "/v2/anything", {}, 404),
])
def test_refusals_look_like_a_real_server(server_args: dict[str, Any], path: str, body: dict[str, Any],
                                          status: int) -> None:
    with FakeOpenAIServer(**server_args) as server:
        assert post(server, path, body).status == status


def test_a_scripted_429_carries_retry_after() -> None:
    with FakeOpenAIServer([Reply.rate_limited(retry_after=2)]) as server:
        response = post(server, "/v1/completions", {"model": "qwen3-coder"})
    assert (response.status, response.getheader("Retry-After")) == (429, "2")


def test_the_server_notices_a_client_hanging_up_mid_stream() -> None:
    with FakeOpenAIServer([Reply(chunks=["a"] * 100, chunk_delay=0.1)]) as server:
        response = post(server, "/v1/completions", {"model": "qwen3-coder", "stream": True})
        response.read1(10)
        response.close()
        assert server.wait_for_disconnect(2)
    assert server.requests[0].disconnected


def test_the_cli_serves_on_the_port_it_prints() -> None:
    process = subprocess.Popen([sys.executable, "-m", "context.cli", "fake-server", "--port", "0", "--reply", "hi"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[4]
        request = urllib.request.Request(f"{base_url}/completions", json.dumps({"model": "qwen3-coder"}).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["choices"][0]["text"] == "hi"
    finally:
        process.terminate()
        process.wait(5)
