"""Secrets never leave the engine, and bad input never breaks it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from context.engine import Engine
from context.errors import SecretPathRefused

GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
PASSWORD = "hunter2-correct-horse"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq98m0secretsecret\n-----END RSA PRIVATE KEY-----\n"
ENV_VALUE = "sk-live-" + "0123456789abcdefghij"
SECRETS = (GITHUB_TOKEN, AWS_KEY, PASSWORD, "MIIEowIBAAKCAQEA7bq98m0secretsecret", ENV_VALUE)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "leaky"
    root.mkdir()
    (root / ".env").write_text(f"OPENAI_API_KEY={ENV_VALUE}\n")
    (root / "id_rsa").write_text(PRIVATE_KEY)
    (root / "server.pem").write_text(PRIVATE_KEY)
    (root / "settings.py").write_text(
        '"""Settings."""\n\n'
        f'GITHUB_TOKEN = "{GITHUB_TOKEN}"\n'
        f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
        f'EMBEDDED_KEY = """{PRIVATE_KEY}"""\n\n\n'
        f'def connect(host: str, password: str = "{PASSWORD}") -> None:\n'
        f'    """Connect to the database."""\n'
        "    return None\n"
    )
    (root / "app.py").write_text("from settings import connect\n\n\ndef main():\n    connect('db')\n")
    return root


def everything_the_engine_says(engine: Engine) -> str:
    """Every text the engine API hands out for the repository, as one string."""
    parts: list[object] = [engine.files(), engine.stats(), engine.file_graph()]
    for path in engine.files():
        parts += [engine.text(path), engine.definitions(path), engine.outline(path), engine.imports(path),
                  engine.references_in(path), engine.dependencies(path), engine.dependents(path)]
    for query in ("GITHUB_TOKEN", "AWS_ACCESS_KEY_ID", "EMBEDDED_KEY", "connect", "main", "hunter", "sk"):
        parts += [engine.search(query, limit=50), engine.definitions_named(query), engine.references(query)]
    return "\n".join(map(repr, parts))


def test_secret_files_are_not_indexed_and_cannot_be_read(engine: Engine) -> None:
    assert engine.files() == ["app.py", "settings.py"]
    for path in (".env", "id_rsa", "server.pem"):
        with pytest.raises(SecretPathRefused):
            engine.text(path)


def test_no_engine_api_returns_a_secret(engine: Engine) -> None:
    said = everything_the_engine_says(engine)
    for secret in SECRETS:
        assert secret not in said
    assert "connect" in said and "GITHUB_TOKEN" in said  # the names stay, only the values go


def test_the_on_disk_index_holds_no_secret(engine: Engine) -> None:
    engine.file_graph()
    data = engine.index_path.read_bytes()
    wal = engine.index_path.with_name(engine.index_path.name + "-wal")
    if wal.exists():
        data += wal.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in data


def test_overlays_are_masked_too(engine: Engine) -> None:
    engine.set_overlay("settings.py", f'API_SECRET = "{GITHUB_TOKEN}"\n\ndef f(token="{AWS_KEY}"): pass\n')
    said = everything_the_engine_says(engine)
    assert GITHUB_TOKEN not in said and AWS_KEY not in said


def test_bad_files_are_indexed_or_skipped_without_breaking_the_index(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "broken.py").write_text("def ok():\n    pass\n\ndef broken(:\n    return (\n\nclass After:\n    pass\n")
    (root / "latin1.py").write_bytes(b"# caf\xe9\ndef caf\xc3\xa9_ok():\n    return '\xff\xfe'\n")
    (root / "nul.py").write_bytes(b"def before():\n    pass\n\x00\x00\x00def after():\n    pass\n")
    (root / "huge.py").write_bytes(b"x = 1\n" * 9_000_000)  # 54 MB
    (root / "minified.js").write_text("var a=1;" * 20_000)
    (root / "loop").symlink_to(root / "loop")
    (root / "outside.py").symlink_to("/etc/hostname")
    (root / "locked.py").write_text("def locked():\n    pass\n")
    os.chmod(root / "locked.py", 0)
    with Engine(root) as engine:
        report = engine.index()
        files = engine.files()
        assert "broken.py" in files and "huge.py" not in files and "minified.js" not in files
        assert {"ok", "After"} <= {d.name for d in engine.definitions("broken.py")}
        assert "nul.py" in files or report.skipped.get("binary") == 1  # NUL bytes read as binary: skipped
        assert report.skipped.get("too_large") == 1
        json.dumps(report.skipped)  # counts, not lists
        if os.geteuid() != 0:  # root reads anything
            assert "locked.py" not in files
        assert "café_ok" in {d.name for d in engine.definitions("latin1.py")}
