"""Property tests (hypothesis): the masker and the path resolver never let an exception other than the engine's
own escape, whatever text or path they are given; masking keeps every line and never grows a secret back."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from context.errors import QwenContextError
from context.index.files import FileRefused, read_file
from context.index.scan import resolve_inside
from context.secrets import MASK, TOKEN_RULES, mask_secrets

#: Text made of the characters secrets and code are made of, with the masker's trigger words mixed in.
_PIECES = st.sampled_from([
    "key", "token", "secret", "password", "pwd", "AKIA", "ghp_", "sk-", "Bearer ", "://", "@", ":", "=", "==", "=>",
    ":=", ",", ";", "\"", "'", "`", "\\", "(", ")", "{", "}", "[", "]", "<", ">", "#", "//", " ", "\t", "\n",
    "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "b\"", "define", "\u0130", "\udcff",
    "é", "x", "A", "0", "9", "_", ".", "-", "+", "/",
])
TEXTS = st.one_of(st.text(max_size=400), st.lists(_PIECES, max_size=120).map("".join))
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(TEXTS)
def test_masking_never_raises_and_keeps_every_line(text: str) -> None:
    masked = mask_secrets(text)
    assert masked.count("\n") == text.count("\n")


@SETTINGS
@given(st.sampled_from(TOKEN_RULES), st.text(max_size=40), st.text(max_size=40))
def test_a_token_is_masked_wherever_it_stands(rule: tuple[str, str, str], before: str, after: str) -> None:
    example = rule[2]
    masked = mask_secrets(f"{before} {example} {after}")
    assert example not in masked
    assert MASK in masked


PATHS = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(["..", ".", "src", "a.py", "/", "\\", "~", "%2e", "%2f", "\0", "C:", "file://", " ",
                              "link", "loop", ".env", "*", "?"]), max_size=12).map("".join),
)


def _root(tmp_path: Path) -> Path:
    """A root holding src/a.py, a symlink out of it, a symlink to a file outside, and a symlink loop (made once
    per test: hypothesis calls the test many times with the same ``tmp_path``)."""
    root = tmp_path / "root"
    if not root.exists():
        (root / "src").mkdir(parents=True)
        (root / "src" / "a.py").write_text("A = 1\n")
        (root / "link").symlink_to(tmp_path)
        (root / "loop").symlink_to(root / "loop")
        (root / "outside.py").symlink_to(tmp_path / "secret.txt")
        (tmp_path / "secret.txt").write_text("OUTSIDE\n")
    return root


@SETTINGS
@given(PATHS)
def test_resolving_any_path_returns_a_path_inside_the_root_or_a_clear_error(tmp_path: Path, rel: str) -> None:
    root = _root(tmp_path)
    try:
        resolved = resolve_inside(root, rel)
    except QwenContextError:
        return
    real = root.resolve()
    assert resolved == real or real in resolved.parents


@SETTINGS
@given(PATHS)
def test_reading_any_path_reads_a_file_inside_the_root_or_refuses(tmp_path: Path, rel: str) -> None:
    root = _root(tmp_path)
    try:
        data = read_file(str(root.resolve()), rel, 1 << 20).data
    except FileRefused:
        return
    assert data == b"A = 1\n"
