"""Every qwen-mcp tool, resource and prompt through the SDK's in-memory client, on the fixture repository."""

from __future__ import annotations

import asyncio
import json
import subprocess
import typing
from pathlib import Path

import pytest
from mcp_support import (
    ANSWER,
    COMPLETION,
    FIXTURE_SECRET,
    call,
    call_capped,
    call_error,
    connected,
    unsaved_service,
)

from context.engine import Engine
from context.index.symbols import DEFINITION_KINDS
from context.model.fakeserver import FakeOpenAIServer, Reply
from mcp_server.tools import SymbolKind

TOOLS = {
    "repo_map",
    "search_symbols",
    "get_definition",
    "find_references",
    "file_outline",
    "read_code",
    "build_context",
    "complete_code",
    "ask_qwen",
    "review_changes",
    "index_status",
}


async def test_the_server_lists_exactly_the_eleven_tools_typed_and_annotated(repo: Path) -> None:
    async with connected(repo) as client:
        listed = (await client.list_tools()).tools
        assert {tool.name for tool in listed} == TOOLS
        for tool in listed:
            assert tool.description and len(tool.description) < 400 and "\n " not in tool.description, (
                tool.name
            )
            assert tool.output_schema is not None, tool.name
            assert tool.annotations is not None and tool.annotations.read_only_hint, tool.name
            calls_model = tool.name in {"complete_code", "ask_qwen"}
            assert tool.annotations.open_world_hint == calls_model, tool.name
            assert tool.annotations.idempotent_hint == (not calls_model), tool.name
        schemas = {tool.name: tool.input_schema for tool in listed}
        assert schemas["search_symbols"]["required"] == ["query"]
        assert schemas["search_symbols"]["properties"]["limit"]["maximum"] == 200
        assert "ctx" not in schemas["read_code"]["properties"]


def test_the_kind_filter_offers_exactly_the_engine_s_definition_kinds() -> None:
    assert set(typing.get_args(SymbolKind)) == set(DEFINITION_KINDS)


async def test_search_symbols_finds_definitions_in_python_typescript_and_go(repo: Path) -> None:
    async with connected(repo) as client:
        found = {}
        for query in ("make_user", "fetchUser", "NewHandler"):
            page = await call(client, "search_symbols", {"query": query})
            found[query] = page["symbols"][0]
        assert (found["make_user"]["path"], found["make_user"]["line"]) == ("app/models.py", 18)
        assert found["make_user"]["kind"] == "function"
        assert (found["fetchUser"]["path"], found["fetchUser"]["line"]) == ("web/client.ts", 13)
        assert found["fetchUser"]["kind"] == "method"
        assert (found["NewHandler"]["path"], found["NewHandler"]["line"]) == ("server/handler.go", 11)


async def test_search_symbols_filters_by_kind_and_pages_with_an_offset(repo: Path) -> None:
    async with connected(repo) as client:
        classes = await call(client, "search_symbols", {"query": "User", "kind": "class"})
        assert classes["symbols"] and all(symbol["kind"] == "class" for symbol in classes["symbols"])
        first = await call(client, "search_symbols", {"query": "e", "limit": 2})
        assert len(first["symbols"]) == 2 and first["next_offset"] == 2
        second = await call(client, "search_symbols", {"query": "e", "limit": 2, "offset": 2})
        assert {s["qualname"] for s in first["symbols"]}.isdisjoint(
            {s["qualname"] for s in second["symbols"]}
        )


async def test_get_definition_by_name_returns_its_code_at_the_right_lines(repo: Path) -> None:
    async with connected(repo) as client:
        result = await call(client, "get_definition", {"symbol": "make_user"})
        [definition] = result["definitions"]
        assert (definition["path"], definition["line"], definition["end_line"]) == ("app/models.py", 18, 20)
        assert definition["code"].startswith("def make_user(name: str) -> User:")
        assert 'return User(name=name, email=f"{name}@example.org")' in definition["code"]
        method = await call(client, "get_definition", {"symbol": "Handler.Serve"})
        assert (method["definitions"][0]["path"], method["definitions"][0]["line"]) == (
            "server/handler.go",
            16,
        )


async def test_get_definition_at_a_position_resolves_the_name_used_there(repo: Path) -> None:
    async with connected(repo) as client:
        # app/service.py line 15 is `        user = make_user(name)`: make_user starts at column 16.
        result = await call(client, "get_definition", {"path": "app/service.py", "line": 15, "column": 16})
        assert [(d["path"], d["line"]) for d in result["definitions"]] == [("app/models.py", 18)]
        go = await call(client, "get_definition", {"path": "server/routes.go", "line": 5, "column": 7})
        assert [(d["path"], d["line"]) for d in go["definitions"]] == [("server/handler.go", 11)]


async def test_get_definition_of_an_unknown_name_suggests_close_matches(repo: Path) -> None:
    async with connected(repo) as client:
        message = await call_error(client, "get_definition", {"symbol": "display"})
        assert "`display`" in message and "User.display_name" in message


async def test_find_references_lists_uses_across_files_with_their_source_lines(repo: Path) -> None:
    async with connected(repo) as client:
        result = await call(client, "find_references", {"symbol": "make_user"})
        hits = {(hit["path"], hit["line"]): hit for hit in result["references"]}
        assert ("app/service.py", 15) in hits
        assert hits[("app/service.py", 15)]["source"] == "user = make_user(name)"
        go = await call(client, "find_references", {"symbol": "NewHandler"})
        assert ("server/routes.go", 5) in {(hit["path"], hit["line"]) for hit in go["references"]}
        ts = await call(client, "find_references", {"symbol": "ApiClient.fetchUser"})
        assert ts["symbol"] == "fetchUser"
        assert ("web/main.ts", 6) in {(hit["path"], hit["line"]) for hit in ts["references"]}


async def test_file_outline_nests_methods_inside_their_class(repo: Path) -> None:
    async with connected(repo) as client:
        outline = await call(client, "file_outline", {"path": "app/service.py"})
        assert outline["language"] == "python"
        top = {item["name"]: item for item in outline["items"]}
        assert {"UserService", "register_all"} <= set(top)
        assert [child["name"] for child in top["UserService"]["children"]] == ["__init__", "register"]
        assert (top["UserService"]["line"], top["register_all"]["line"]) == (8, 20)


async def test_read_code_returns_the_requested_lines_with_secrets_masked(repo: Path) -> None:
    async with connected(repo) as client:
        code = await call(client, "read_code", {"path": "app/service.py", "start_line": 3, "end_line": 5})
        assert (code["start_line"], code["end_line"], code["total_lines"]) == (3, 5, 22)
        lines = code["text"].split("\n")
        assert lines[0] == "from app.models import User, make_user"
        assert lines[2].startswith("API_TOKEN = ") and FIXTURE_SECRET not in code["text"]
        assert code["next_start_line"] is None


async def test_read_code_pages_through_a_file_longer_than_the_output_cap(repo: Path) -> None:
    body = "".join(f"def function_{n}(value):\n    return value + {n}\n\n" for n in range(1500))
    (repo / "app" / "big.py").write_text(body)
    pages, start = [], 1
    async with connected(repo, max_output_tokens=2048) as client:
        while start is not None:
            page = await call_capped(client, "read_code", {"path": "app/big.py", "start_line": start}, 2048)
            pages.append(page["text"])
            start = page["next_start_line"]
    assert len(pages) > 3
    assert "\n".join(pages) + "\n" == body


async def test_file_outline_pages_through_a_file_with_more_definitions_than_the_cap(repo: Path) -> None:
    (repo / "app" / "many.py").write_text(
        "".join(f"def function_{n}(value):\n    return {n}\n" for n in range(1500))
    )
    names: list[str] = []
    offset: int | None = 0
    async with connected(repo, max_output_tokens=2048) as client:
        while offset is not None:
            page = await call_capped(client, "file_outline", {"path": "app/many.py", "offset": offset}, 2048)
            assert len(page["items"]) < 1500
            names += [item["name"] for item in page["items"]]
            offset = page["next_offset"]
    assert names == [f"function_{n}" for n in range(1500)]


async def test_repo_map_shows_the_files_and_their_key_definitions(repo: Path) -> None:
    async with connected(repo) as client:
        result = await call(client, "repo_map", {"budget_tokens": 2048})
        assert result["tokens"] <= 2048
        for expected in ("app/models.py", "make_user", "web/client.ts", "server/handler.go"):
            assert expected in result["text"]
        focused = await call(client, "repo_map", {"focus_paths": ["server/routes.go"], "budget_tokens": 1024})
        assert "server/handler.go" in focused["text"]


async def test_build_context_for_a_task_contains_the_relevant_definition(repo: Path) -> None:
    async with connected(repo) as client:
        result = await call(
            client, "build_context", {"task": "change how make_user builds the e-mail address"}
        )
        assert "def make_user(name: str) -> User:" in result["text"]
        assert "app/models.py" in {section["path"] for section in result["sections"]}
        assert result["tokens"] <= result["budget_tokens"]


async def test_build_context_for_a_cursor_includes_what_the_file_uses(repo: Path) -> None:
    async with connected(repo) as client:
        result = await call(client, "build_context", {"path": "app/service.py", "line": 15})
        assert "app/models.py" in {section["path"] for section in result["sections"]}
        assert "make_user" in result["text"]


async def test_complete_code_sends_repository_context_to_the_model(
    repo: Path, fake_model: FakeOpenAIServer
) -> None:
    async with connected(repo) as client:
        arguments = {"path": "app/service.py", "line": 17, "column": 9, "buffer": unsaved_service(repo)}
        result = await call(client, "complete_code", arguments)
        assert result["text"] == COMPLETION
        assert result["context_tokens"] > 0
        [request] = fake_model.requests_to("completions")
        prompt = request.body["prompt"]
        assert "<|fim_prefix|>" in prompt and "<|fim_middle|>" in prompt
        assert (
            "def make_user(name: str) -> User:" in prompt
        )  # from app/models.py, the file service.py imports
        assert FIXTURE_SECRET not in prompt


async def test_ask_qwen_sends_the_question_with_repository_context(
    repo: Path, fake_model: FakeOpenAIServer
) -> None:
    async with connected(repo) as client:
        question = "How is a new user's e-mail address chosen?"
        result = await call(client, "ask_qwen", {"question": question, "paths": ["app/models.py"]})
        assert result["answer"] == ANSWER and not result["truncated"]
        assert "app/models.py" in result["context_files"]
        [request] = fake_model.requests_to("chat")
        sent = json.dumps(request.body["messages"])
        assert question in sent
        assert "def make_user(name: str) -> User:" in sent
        assert FIXTURE_SECRET not in sent
        assert {tool["function"]["name"] for tool in request.body["tools"]} >= {"read_code", "find_references"}


async def test_ask_qwen_without_tools_asks_in_one_shot(repo: Path, fake_model: FakeOpenAIServer) -> None:
    async with connected(repo) as client:
        result = await call(client, "ask_qwen", {"question": "What is a User?", "tools": False})
    assert result["answer"] == ANSWER and result["tool_calls"] == []
    [request] = fake_model.requests_to("chat")
    assert "tools" not in request.body


async def test_a_slow_answer_streams_with_progress_notifications(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    progress: list[str | None] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    words = [f"word{n} " for n in range(12)]
    with FakeOpenAIServer([Reply(chunks=words, chunk_delay=0.15)]) as server:
        monkeypatch.setenv("QWEN_BASE_URL", server.base_url)
        monkeypatch.setenv("QWEN_MODEL", "qwen3-coder")
        async with connected(repo) as client:
            await call(
                client, "search_symbols", {"query": "User"}
            )  # the index is ready: progress is the model's
            result = await client.call_tool(
                "ask_qwen", {"question": "Explain it."}, progress_callback=on_progress
            )
    assert not result.is_error
    assert result.structured_content is not None and result.structured_content["answer"] == "".join(words)
    assert progress and all("Qwen3-Coder is answering" in (message or "") for message in progress)


async def test_model_tools_without_an_endpoint_answer_with_a_readable_error(repo: Path) -> None:
    async with connected(repo) as client:
        message = await call_error(
            client, "complete_code", {"path": "app/service.py", "line": 17, "column": 9}
        )
        assert "Traceback" not in message and len(message) < 600


async def test_index_status_reports_files_languages_and_skipped_secrets(repo: Path) -> None:
    async with connected(repo) as client:
        await call(client, "search_symbols", {"query": "User"})  # waits for the first index
        status = await call(client, "index_status")
        assert status["state"] == "ready" and status["error"] is None
        assert {"python", "typescript", "go"} <= set(status["languages"])
        assert status["files"] == sum(status["languages"].values()) >= 7
        assert status["symbols"] > 10
        assert status["skipped"].get("secret", 0) >= 1
        assert status["last_indexed"] is not None


async def test_index_status_says_which_ignore_rule_left_everything_out(tmp_path: Path) -> None:
    root = tmp_path / "linux"
    (root / "kernel").mkdir(parents=True)
    (root / "kernel" / "fork.c").write_text("int copy_process(void) { return 0; }\n")
    (root / ".gitignore").write_text("/*\n!/debian/\n")
    async with connected(root) as client:
        await call(client, "search_symbols", {"query": "copy_process"})  # waits for the first index
        status = await call(client, "index_status")
    assert status["state"] == "ready" and status["files"] == 0
    assert status["ignored"] == [{"file": ".gitignore", "rule": "/*", "files": 1, "folders": 1}]
    assert status["message"].endswith(
        "Nothing was indexed: ignore rules left out 1 file and 1 folder: `/*` in .gitignore (1 file and 1 folder).")


async def test_an_unknown_file_is_a_tool_error_the_model_can_act_on(repo: Path) -> None:
    async with connected(repo) as client:
        message = await call_error(client, "read_code", {"path": "app/missing.py"})
        assert "app/missing.py" in message and "Traceback" not in message


async def test_out_of_range_arguments_are_refused_before_the_tool_runs(repo: Path) -> None:
    async with connected(repo) as client:
        message = await call_error(client, "search_symbols", {"query": "x", "limit": 100_000})
        assert "limit" in message
        assert "start_line" in await call_error(
            client, "read_code", {"path": "app/models.py", "start_line": 999}
        )


async def test_an_unexpected_failure_is_a_short_error_without_internals(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with connected(repo) as client:

        def crash(*args: object, **kwargs: object) -> None:
            raise RuntimeError("internal detail at /home/someone/secret/place")

        monkeypatch.setattr(
            Engine, "search", crash
        )  # a fault injected into the engine: any bug looks like this
        message = await call_error(client, "search_symbols", {"query": "User"})
        assert "internal error" in message
        assert "internal detail" not in message and "Traceback" not in message


async def test_resources_serve_the_map_and_file_outlines(repo: Path) -> None:
    async with connected(repo) as client:
        listed = await client.list_resources()
        assert "repo://map" in {str(resource.uri) for resource in listed.resources}
        templates = await client.list_resource_templates()
        assert "repo://outline/{+path}" in {
            template.uri_template for template in templates.resource_templates
        }
        repo_map = await client.read_resource("repo://map")
        assert "app/models.py" in repo_map.contents[0].text
        outline = await client.read_resource("repo://outline/app/models.py")
        items = json.loads(outline.contents[0].text)["items"]
        assert {"User", "make_user"} <= {item["name"] for item in items}


async def test_prompts_for_explain_review_and_tests_carry_repository_context(repo: Path) -> None:
    async with connected(repo) as client:
        names = {prompt.name for prompt in (await client.list_prompts()).prompts}
        assert {"explain", "review_diff", "write_tests"} <= names
        explained = await client.get_prompt("explain", {"path": "app/models.py", "symbol": "make_user"})
        text = explained.messages[0].content.text
        assert "make_user" in text and "def make_user" in text
        diff = (
            "--- a/app/models.py\n+++ b/app/models.py\n@@ -20 +20 @@\n-    return User(name)\n+    return 1\n"
        )
        reviewed = (await client.get_prompt("review_diff", {"diff": diff})).messages[0].content.text
        assert "-    return User(name)\n+    return 1\n" in reviewed and "path:line" in reviewed
        assert "15|         user = make_user(name)" in reviewed  # the changed function's caller
        tests = await client.get_prompt("write_tests", {"path": "app/service.py"})
        assert "app/service.py" in tests.messages[0].content.text


async def test_tools_list_answers_at_once_while_a_large_repository_is_still_indexing(tmp_path: Path) -> None:
    for n in range(1500):
        folder = tmp_path / f"pkg{n // 100}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{n}.py").write_text(f"def function_{n}(x):\n    return helper_{n}(x) + {n}\n" * 20)
    async with connected(tmp_path, index_wait_seconds=0.0) as client:
        assert len((await client.list_tools()).tools) == len(TOOLS)
        status = await call(client, "index_status")
        assert status["state"] in {"starting", "indexing"}
        message = await call_error(client, "search_symbols", {"query": "function_1"})
        assert "index" in message and "index_status" in message


async def test_a_tool_waits_for_the_first_index_and_reports_progress(tmp_path: Path) -> None:
    for n in range(600):
        (tmp_path / f"mod{n}.py").write_text(f"def function_{n}(x):\n    return x + {n}\n" * 20)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with connected(tmp_path) as client:
        result = await client.call_tool(
            "search_symbols", {"query": "function_599"}, progress_callback=on_progress
        )
    assert not result.is_error
    assert result.structured_content["symbols"][0]["path"] == "mod599.py"
    assert progress and all(message for _, _, message in progress)


async def test_a_file_created_while_serving_is_found_without_restarting(repo: Path) -> None:
    async with connected(repo, watch=True) as client:
        await call(client, "search_symbols", {"query": "User"})
        assert (await call(client, "index_status"))["watching"]
        (repo / "app" / "audit.py").write_text("def record_signup(user):\n    return user\n")
        deadline = asyncio.get_running_loop().time() + 30  # the watcher batches changes: poll until it saw it
        while not (found := (await call(client, "search_symbols", {"query": "record_signup"}))["symbols"]):
            assert asyncio.get_running_loop().time() < deadline, "the new file was never indexed"
            await asyncio.sleep(0.1)
    assert [(symbol["path"], symbol["line"]) for symbol in found] == [("app/audit.py", 1)]


async def test_every_result_stays_under_a_small_output_cap(repo: Path) -> None:
    methods = "".join(
        f"    def method_{n}(self, value):\n        return helper(value) + {n}\n\n" for n in range(800)
    )
    (repo / "app" / "huge.py").write_text(f"def helper(value):\n    return value\n\n\nclass Huge:\n{methods}")
    cap = 2048
    calls = [
        ("repo_map", {"budget_tokens": 262_144}),
        ("build_context", {"task": "change how Huge calls helper", "budget_tokens": 262_144}),
        ("get_definition", {"symbol": "Huge"}),
        ("search_symbols", {"query": "method_", "limit": 200}),
        ("find_references", {"symbol": "helper", "limit": 500}),
        ("file_outline", {"path": "app/huge.py"}),
        ("read_code", {"path": "app/huge.py"}),
    ]
    async with connected(repo, max_output_tokens=cap) as client:
        for tool, arguments in calls:
            await call_capped(client, tool, arguments, cap)
        definition = (await call(client, "get_definition", {"symbol": "Huge"}))["definitions"][0]
        references = await call(client, "find_references", {"symbol": "helper", "limit": 500})
    assert definition["code_truncated"] and definition["code"].startswith("class Huge:")
    assert references["next_offset"] is not None


def committed(root: Path, message: str) -> None:
    """Commit everything in ``root`` (a git repository made on first use)."""
    who = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], [*who, "commit", "-qm", message]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=30)


async def test_review_changes_brings_a_renamed_functions_old_callers_for_changes_commits_and_diffs(
    repo: Path,
) -> None:
    committed(repo, "init")
    models = repo / "app" / "models.py"
    models.write_text(models.read_text().replace("def make_user(", "def create_user("))
    async with connected(repo) as client:
        uncommitted = await call(client, "review_changes", {"budget": 4096})
        committed(repo, "rename make_user")
        commit = await call(client, "review_changes", {"rev": "HEAD", "budget": 4096})
        diff = ("--- a/app/models.py\n+++ b/app/models.py\n@@ -18 +18 @@\n-def make_user(name: str) -> User:\n"
                "+def create_user(name: str) -> User:\n")
        piped = await call(client, "review_changes", {"diff": diff, "budget": 4096})
        for result in (uncommitted, commit, piped):
            assert result["changed"] == [{"path": "app/models.py", "symbols": ["create_user", "make_user"]}]
            assert "15|         user = make_user(name)" in result["text"]
            assert result["tokens"] <= result["budget_tokens"] == 4096
            assert "path:line" in result["instruction"]
        assert {"diff", "caller"} <= {section["kind"] for section in commit["sections"]}
        assert "unknown revision 'nope'" in await call_error(client, "review_changes", {"rev": "nope"})
        both = await call_error(client, "review_changes", {"rev": "HEAD", "diff": diff})
        assert "not both" in both
        assert FIXTURE_SECRET not in json.dumps(uncommitted)


async def test_review_changes_outside_git_says_to_give_a_diff(repo: Path) -> None:
    async with connected(repo) as client:
        message = await call_error(client, "review_changes", {})
    assert "not inside a git work tree" in message and str(repo) not in message
