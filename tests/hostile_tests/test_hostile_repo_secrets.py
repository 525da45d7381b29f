"""Findings 1 and 6 of issue 16: masking is linear (every pattern is RE2), every listed secret form is masked in
what the CLI prints and in the index file, and an adversarial buffer no longer stalls the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import re2

from context import secrets
from context.secrets import MASK, TOKEN_RULES, mask_secrets
from tests.hostile_tests.conftest import cli, write

#: Each secret form of finding 6, with the secret value that must never come out.
FORMS = {
    "flask_secret_key.py": ('app.secret_key = b"_5#y2L\\"F4Q8z\\n\\xec]/"\n', "_5#y2L"),
    "continued_paren.py": ('API_KEY = (\n    "k3y-on-the-next-line-0042"\n)\n', "k3y-on-the-next-line-0042"),
    "continued_backslash.py": ('TOKEN = \\\n    "t0ken-after-backslash-77"\n', "t0ken-after-backslash-77"),
    "connection.py": ('CONN = "Server=db;User Id=sa;Password=Pa55w0rdConn;"\n', "Pa55w0rdConn"),
    "boto.py": ('s3 = boto3.client("s3", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")\n',
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "split.py": ('TOKEN_PARTS = "ghp_" + "SplitTokenBody0123456789abcdef"\n', "SplitTokenBody0123456789abcdef"),
    "slack_app.py": ('SLACK = "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef"\n',
                     "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef"),
    "curl.sh": ("curl -u admin:CurlPa55word https://api.example.com/\n", "CurlPa55word"),
    "mysql.sh": ("mysql -h db -uroot -pMysqlPa55word app\n", "MysqlPa55word"),
    "azure.py": ('STORAGE = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=AzUrEkEy0123+abc/def==;"\n',
                 "AzUrEkEy0123+abc/def=="),
    "imports.js": ('import widget from "https://deploy:JsImp0rtPw@cdn.example.com/widget.js";\n', "JsImp0rtPw"),
}


def test_every_masking_pattern_compiles_under_re2() -> None:
    patterns = [value for name, value in vars(secrets).items() if isinstance(value, re2._Regexp)]
    assert len(patterns) >= 10  # the module's own regexes
    for _, regex, _ in TOKEN_RULES:
        re2.compile(regex)  # raises for anything RE2 (linear time) cannot run


@pytest.mark.parametrize("rule", TOKEN_RULES, ids=[rule[0] for rule in TOKEN_RULES])
def test_every_rule_masks_its_documented_example(rule: tuple[str, str, str]) -> None:
    _, _, example = rule
    assert mask_secrets(f'value = call("{example}")\n') == f'value = call("{MASK}")\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name, (text, _) in FORMS.items():
        write(root, name, "def placeholder():\n    return 0\n\n" + text)
    return root


def test_no_listed_secret_form_comes_out_of_the_cli_or_into_the_index(repo: Path, isolated_cache: Path) -> None:
    done = cli("index", str(repo), "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    shown = cli("context", "where are the credentials", "--repo", str(repo), "--budget", "8192",
                *[arg for name in FORMS for arg in ("--focus", name)], cwd=repo)
    assert shown.returncode == 0, shown.stderr
    for name, (_, secret) in FORMS.items():
        prompt = cli("prompt", f"{name}:1:1", "--repo", str(repo), cwd=repo)
        assert prompt.returncode == 0, prompt.stderr
        assert secret not in prompt.stdout, f"{name}: the secret is in the FIM prompt"
        assert secret not in shown.stdout, f"{name}: the secret is in the chat context"
    index_bytes = b"".join(path.read_bytes() for path in isolated_cache.rglob("index.sqlite*"))
    with sqlite3.connect(next(isolated_cache.rglob("index.sqlite"))) as conn:
        blobs = b"".join(bytes(b) for row in conn.execute("SELECT defs, imports FROM files") for b in row)
    for name, (_, secret) in FORMS.items():
        assert secret.encode() not in index_bytes + blobs, f"{name}: the secret is stored in the index"


def test_an_adversarial_buffer_does_not_stall_the_cli(repo: Path) -> None:
    # Quadratic masking took ~4 minutes on this 100 KB line; linear masking takes milliseconds.
    buffer = write(repo.parent, "buffer.py", "x" + " " * 100_000 + "y # key\n")
    done = cli("prompt", "continued_paren.py:1:1", "--repo", str(repo), "--buffer", str(buffer), cwd=repo)
    assert done.returncode == 0, done.stderr


def test_a_huge_docstring_is_capped_before_it_is_masked_and_stored(repo: Path) -> None:
    body = "".join(f"    value_{n} = {n}\n" for n in range(400))  # a long line, but not a minified file
    write(repo, "docs.py", 'def documented():\n    """' + "word " * 600 + '"""\n' + body)
    done = cli("search", "documented", "--repo", str(repo), "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert 0 < len(json.loads(done.stdout)[0]["doc"]) <= 300
