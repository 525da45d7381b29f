"""Keeping the index fresh: updates, renames, deletions, overlays, warm starts and the watcher."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from context.engine import Engine
from context.errors import SecretPathRefused
from context.index import overlay as overlay_module

SERVICE = "python/app/service.py"
MODELS = "python/app/models.py"


def names(engine: Engine, path: str) -> list[str]:
    return [d.name for d in engine.definitions(path)]


def test_a_second_engine_on_an_unchanged_repository_parses_nothing(engine: Engine, repo: Path) -> None:
    with Engine(repo) as again:
        report = again.index()
    assert (report.parsed, report.removed, report.files) == (0, 0, 15)
    assert report.symbols == engine.stats().symbols


def test_a_touched_file_with_the_same_bytes_is_not_parsed_again(engine: Engine, repo: Path) -> None:
    path = repo / SERVICE
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert engine.update([SERVICE]).parsed == 0
    assert engine.index().parsed == 0


def test_update_picks_up_an_edit(engine: Engine, repo: Path) -> None:
    version = engine.version
    with open(repo / SERVICE, "a") as handle:
        handle.write("\n\ndef unregister_user(repo, email):\n    return repo.users.pop(email)\n")
    report = engine.update([SERVICE])
    assert (report.parsed, report.removed) == (1, 0)
    assert "unregister_user" in names(engine, SERVICE)
    assert engine.search("unregister_user")[0].path == SERVICE
    assert engine.version > version


def test_update_handles_creation_deletion_and_rename(engine: Engine, repo: Path) -> None:
    (repo / "python/app/audit.py").write_text("from .models import User\n\n\ndef audit(user: User) -> str:\n"
                                              "    return user.greeting()\n")
    assert engine.update(["python/app/audit.py"]).parsed == 1
    assert engine.imports("python/app/audit.py")[0].resolved == MODELS
    assert "python/app/audit.py" in engine.dependents(MODELS)

    (repo / "python/app/audit.py").rename(repo / "python/app/logbook.py")
    report = engine.update(["python/app/audit.py", "python/app/logbook.py"])
    assert (report.parsed, report.removed) == (1, 1)
    assert engine.search("audit")[0].path == "python/app/logbook.py"
    assert "python/app/audit.py" not in engine.files()

    (repo / "python/app/logbook.py").unlink()
    assert engine.update(["python/app/logbook.py"]).removed == 1
    assert engine.search("audit") == [] or engine.search("audit")[0].name != "audit"
    assert "python/app/logbook.py" not in engine.dependents(MODELS)


def test_update_of_a_deleted_folder_drops_its_files(engine: Engine, repo: Path) -> None:
    shutil.rmtree(repo / "rust")
    report = engine.update(["rust"])
    assert report.removed == 3
    assert not [f for f in engine.files() if f.startswith("rust/")]


def test_update_ignores_paths_outside_and_drops_newly_ignored_files(engine: Engine, repo: Path) -> None:
    assert engine.update(["/etc/passwd", "../x.py"]).parsed == 0
    (repo / "build").mkdir()
    (repo / "build" / "gen.py").write_text("def generated(): pass\n")
    assert engine.update(["build/gen.py"]).parsed == 0  # .gitignore says build/
    assert "build/gen.py" not in engine.files()


def test_index_notices_edits_made_behind_its_back(engine: Engine, repo: Path) -> None:
    (repo / MODELS).write_text((repo / MODELS).read_text().replace("find_by_email", "lookup_email"))
    (repo / "go" / "main.go").unlink()
    report = engine.index()
    assert (report.parsed, report.removed) == (1, 1)
    assert "lookup_email" in names(engine, MODELS)
    assert engine.definitions_named("TotalArea") == []


def test_an_overlay_wins_over_the_disk_until_cleared(engine: Engine, repo: Path) -> None:
    version = engine.version
    buffer = (repo / SERVICE).read_text() + "\n\ndef draft_helper():\n    return register_user(None, \"a\", \"b\")\n"
    engine.set_overlay(SERVICE, buffer)
    assert engine.version > version
    assert "draft_helper" in names(engine, SERVICE)
    assert engine.text(SERVICE) == buffer
    assert engine.search("draft_helper")[0].line + 1 == 18
    assert any(r.path == SERVICE for r in engine.references("register_user"))

    # a save of different content on disk does not beat the overlay while it is open
    (repo / SERVICE).write_text((repo / SERVICE).read_text() + "\n\ndef saved_helper():\n    pass\n")
    engine.update([SERVICE])
    assert "saved_helper" not in names(engine, SERVICE)
    assert "draft_helper" in names(engine, SERVICE)

    engine.clear_overlay(SERVICE)
    assert "saved_helper" in names(engine, SERVICE)
    assert "draft_helper" not in names(engine, SERVICE)
    assert engine.text(SERVICE) == (repo / SERVICE).read_text()


def test_an_overlay_of_a_new_unsaved_file_is_a_file_until_cleared(engine: Engine) -> None:
    engine.set_overlay("web/src/draft.ts", "import { TodoStore } from './store';\nexport function draft() {}\n")
    assert "web/src/draft.ts" in engine.files()
    assert engine.imports("web/src/draft.ts")[0].resolved == "web/src/store.ts"
    assert "web/src/store.ts" in engine.dependencies("web/src/draft.ts")
    engine.clear_overlay("web/src/draft.ts")
    assert "web/src/draft.ts" not in engine.files()
    assert engine.search("draft") == [] or engine.search("draft")[0].name != "draft"


def test_overlays_set_before_the_first_query_apply_once_loaded(repo: Path) -> None:
    with Engine(repo) as engine:
        engine.set_overlay(MODELS, "class Replacement:\n    pass\n")
        engine.index()
        assert names(engine, MODELS) == ["Replacement"]


def test_overlays_on_secret_files_are_refused(engine: Engine) -> None:
    with pytest.raises(SecretPathRefused):
        engine.set_overlay(".env", "API_KEY=abc\n")


def test_the_watcher_indexes_created_edited_and_deleted_files(engine: Engine, repo: Path) -> None:
    with engine.watch():
        (repo / "python" / "app" / "watched.py").write_text("def watched_function():\n    return 1\n")
        wait_until(lambda: bool(engine.definitions_named("watched_function")))
        (repo / SERVICE).write_text("def only_this():\n    pass\n")
        wait_until(lambda: names(engine, SERVICE) == ["only_this"])
        (repo / "python" / "app" / "watched.py").unlink()
        wait_until(lambda: "python/app/watched.py" not in engine.files())


def wait_until(condition: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("the condition did not become true in time")


def test_the_file_graph_follows_creations_and_deletions_once_built(engine: Engine, repo: Path) -> None:
    engine.file_graph()
    (repo / "python" / "report.py").write_text("from app.ledger import balance\n\n\ndef report():\n"
                                              "    return balance()\n")
    engine.update(["python/report.py"])
    assert engine.imports("python/report.py")[0].resolved is None
    assert engine.dependencies("python/report.py") == []

    (repo / "python" / "app" / "ledger.py").write_text("def balance():\n    return 0\n")
    engine.update(["python/app/ledger.py"])  # the missing module appears: the importer now resolves
    assert engine.imports("python/report.py")[0].resolved == "python/app/ledger.py"
    assert engine.dependencies("python/report.py") == ["python/app/ledger.py"]
    assert engine.file_graph()["python/report.py"].keys() == {"python/app/ledger.py"}

    (repo / "python" / "app" / "ledger.py").unlink()
    engine.update(["python/app/ledger.py"])
    assert engine.imports("python/report.py")[0].resolved is None
    assert engine.dependencies("python/report.py") == []
    assert "python/app/ledger.py" not in engine.file_graph()


def test_the_engine_owns_one_watcher_and_closing_it_stops_the_watcher(repo: Path) -> None:
    import threading

    def watcher_threads() -> int:
        return sum(t.name.startswith("qwen-context-watch") for t in threading.enumerate())

    engine = Engine(repo)
    engine.index()
    engine.start_watching()
    engine.start_watching()  # already watching: still one watcher
    assert engine.watching and watcher_threads() == 1
    engine.stop_watching()
    assert not engine.watching and watcher_threads() == 0
    engine.start_watching()
    with engine.watch():  # a context inside a running watch leaves it running
        pass
    assert engine.watching and watcher_threads() == 1
    engine.close()
    assert not engine.watching and watcher_threads() == 0


def test_qualified_names_follow_updates(engine: Engine, repo: Path) -> None:
    assert [d.path for d in engine.definitions_named("UserRepository.add")] == [MODELS]
    text = (repo / MODELS).read_text().replace("class UserRepository:", "class UserStore:")
    (repo / MODELS).write_text(text)
    engine.update([MODELS])
    assert engine.definitions_named("UserRepository.add") == []
    assert [d.qualname for d in engine.search("UserStore.add")] == ["UserStore.add"]


def test_a_tsconfig_alias_resolves_once_the_build_file_is_updated(engine: Engine, repo: Path) -> None:
    (repo / "web" / "src" / "alias.ts").write_text('import { fetchTodos } from "@/api";\nfetchTodos("x");\n')
    engine.update(["web/src/alias.ts"])
    assert engine.imports("web/src/alias.ts")[0].resolved is None
    (repo / "web" / "tsconfig.json").write_text('{"compilerOptions": {"paths": {"@/*": ["./src/*"]}}}\n')
    version = engine.version
    engine.update(["web/tsconfig.json"])
    assert engine.version > version
    assert engine.imports("web/src/alias.ts")[0].resolved == "web/src/api.ts"
    assert "web/src/api.ts" in engine.dependencies("web/src/alias.ts")


def test_the_watcher_rescans_when_an_ignore_file_changes(engine: Engine, repo: Path) -> None:
    with engine.watch():
        (repo / ".qwenignore").write_text("rust/\n")
        wait_until(lambda: not [f for f in engine.files() if f.startswith("rust/")])
        (repo / ".qwenignore").write_text("")
        wait_until(lambda: "rust/src/parser.rs" in engine.files())


def test_a_query_during_the_first_index_does_not_hide_the_files_that_index_parses(tmp_path: Path) -> None:
    for n in range(30):
        (tmp_path / f"mod{n}.py").write_text(f"def function_{n}():\n    return {n}\n")
    engine = Engine(tmp_path)
    seen_mid_index: list[int] = []

    def query_while_parsing(done: int, total: int) -> None:
        if done and not seen_mid_index:  # the first batch is stored, the rest is still to come
            seen_mid_index.append(len(engine.files()))

    try:
        engine.index(progress=query_while_parsing)
        assert seen_mid_index, "the progress callback never ran mid-index"
        assert len(engine.files()) == 30
        assert engine.search("function_29")[0].path == "mod29.py"
    finally:
        engine.close()


def test_an_overlay_holding_the_disks_bytes_reuses_the_index_instead_of_parsing(
    engine: Engine, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    real = overlay_module.parse_source
    monkeypatch.setattr(overlay_module, "parse_source", lambda path, *rest: parsed.append(path) or real(path, *rest))
    text = (repo / "python/main.py").read_text()
    engine.set_overlay("python/main.py", text)  # what an editor sends when it opens the file
    assert parsed == []
    engine.set_overlay("python/main.py", text + "\ndef typed_since_open():\n    pass\n")
    assert parsed == ["python/main.py"]
    assert engine.search("typed_since_open")[0].path == "python/main.py"
