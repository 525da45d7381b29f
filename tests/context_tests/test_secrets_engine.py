"""No secret of a repository ever comes out of the engine: not from a query, a prompt, nor the index on disk.

The fixture ``tests/fixtures/secret_repo`` holds a ``.env``, a private key ``id_rsa``, ``config/credentials.json``
and Python, TypeScript and Go sources with tokens, AWS keys, passwords and private key blocks assigned to
constants, default arguments and docstrings. Every secret value in it is clearly fake and contains ``FAKE`` (or is
a private key body starting ``MIIE``, or a JWT starting ``eyJhbGci``), so one pattern finds any leak.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from context.engine import Engine
from context.errors import SecretPathRefused

FIXTURE = Path(__file__).parents[1] / "fixtures" / "secret_repo"
LEAK = re.compile(r"(?i)fake|MIIE|eyJhbGci|b3BlbnNzaC1rZXkt")
SOURCES = ["src/billing.py", "src/client.ts", "src/store.go"]
SECRET_FILES = [".env", "config/credentials.json", "id_rsa"]


def assert_no_secret(what: object) -> None:
    """Fail when the text (or the repr of a result) of ``what`` holds any secret of the fixture."""
    text = what if isinstance(what, str) else repr(what)
    leak = LEAK.search(text)
    assert leak is None, f"secret leaked: ...{text[max(0, leak.start() - 60): leak.end() + 20]}..."


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A private copy of the fixture repository."""
    root = tmp_path / "secret_repo"
    shutil.copytree(FIXTURE, root, symlinks=True)
    return root


def test_every_file_of_the_fixture_really_holds_secrets(repo: Path) -> None:
    for rel in SOURCES + SECRET_FILES:
        assert LEAK.search((repo / rel).read_text()), rel


def test_secret_files_are_neither_indexed_nor_readable(engine: Engine) -> None:
    assert engine.files() == SOURCES
    assert engine.stats().skipped.get("secret") == len(SECRET_FILES)
    for rel in SECRET_FILES:
        with pytest.raises(SecretPathRefused):
            engine.text(rel)
        with pytest.raises(SecretPathRefused):
            engine.outline(rel)


def test_texts_keep_their_code_and_line_numbers_but_lose_their_secrets(engine: Engine, repo: Path) -> None:
    for rel in SOURCES:
        text = engine.text(rel)
        assert_no_secret(text)
        assert text.count("\n") == (repo / rel).read_text().count("\n")
        assert "***" in text
    assert "def connect(user: str, password: str = \"***\") -> str:" in engine.text("src/billing.py")


def test_no_query_about_symbols_returns_secret_text(engine: Engine) -> None:
    names = ["GITHUB_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "SIGNING_KEY",
             "EMBEDDED_KEY", "BillingClient", "__init__", "connect", "API_KEY", "slackToken", "mapsKey", "ApiClient",
             "authHeader", "awsAccessKey", "dbPassword", "Store", "Open", "Password", "token", "password", "key"]
    for name in names:
        assert_no_secret(engine.search(name, limit=50))
        assert_no_secret(engine.definitions_named(name))
        assert_no_secret(engine.references(name))
    found = {d.name: d for d in engine.search("connect")}
    assert found["connect"].signature == 'def connect(user: str, password: str = "***") -> str:'
    for rel in SOURCES:
        assert_no_secret(engine.definitions(rel))
        assert_no_secret(engine.outline(rel))
        assert_no_secret(engine.references_in(rel))
        assert_no_secret(engine.imports(rel))
        assert_no_secret(engine.dependencies(rel))
        assert_no_secret(engine.dependents(rel))
        for line, content in enumerate(engine.text(rel).splitlines()):
            for column in range(0, len(content), 3):
                assert_no_secret(engine.definition_at(rel, line, column))
    assert_no_secret(engine.file_graph())
    assert_no_secret(engine.stats())


def test_unsaved_buffers_are_masked_like_files_on_disk(engine: Engine, repo: Path) -> None:
    buffer = (repo / "src/billing.py").read_text() + '\nNEW_TOKEN = "ghp_FAKEbufFAKEbuf0123456789FAKEbufFAKE0099"\n'
    engine.set_overlay("src/billing.py", buffer)
    assert_no_secret(engine.text("src/billing.py"))
    assert_no_secret(engine.search("NEW_TOKEN"))
    assert [d.signature for d in engine.search("NEW_TOKEN")] == ['NEW_TOKEN = "***"']
    engine.set_overlay("src/new.ts", 'export const SECRET = "sk-FAKEnewFAKEnewFAKEnewFAKE0098";\n')
    assert_no_secret(engine.text("src/new.ts"))
    assert_no_secret(engine.outline("src/new.ts"))


def test_prompts_built_from_the_repository_carry_no_secret(engine: Engine) -> None:
    for rel in SOURCES:
        lines = engine.text(rel).splitlines()
        for line in (0, len(lines) // 2, len(lines) - 1):
            prompt = engine.fim_prompt(rel, line, 0, budget=4096)
            assert_no_secret(prompt.text)
            assert_no_secret(prompt.prefix + prompt.suffix)
            assert "***" in prompt.text
    context = engine.chat_context("How does billing connect to the database and charge a customer?",
                                  focus=SOURCES, budget=4096)
    assert_no_secret(context.text)
    assert "BillingClient" in context.text
    assert_no_secret(engine.repo_map(budget=2048))
    assert_no_secret(engine.repo_map(focus=["src/billing.py"], budget=2048))


def test_a_fim_prompt_over_an_unsaved_buffer_masks_the_buffer(engine: Engine, repo: Path) -> None:
    buffer = (repo / "src/store.go").read_text() + '\nvar apiToken = "ghp_FAKEfimFAKEfim0123456789FAKEfimFAKE0097"\n'
    line = buffer.count("\n")
    prompt = engine.fim_prompt("src/store.go", line, 0, buffer=buffer, budget=4096)
    assert_no_secret(prompt.text)


def test_the_index_on_disk_holds_no_secret(repo: Path, isolated_cache: Path) -> None:
    with Engine(repo) as engine:
        engine.index()
        engine.search("connect")
    stored = [path for path in isolated_cache.rglob("*") if path.is_file()]
    assert any(b"BillingClient" in path.read_bytes() for path in stored), "no readable index in the cache folder"
    for path in stored:
        assert_no_secret(path.read_bytes().decode("latin-1"))
