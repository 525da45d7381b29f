"""Emacs from Debian (28, `emacs-nox`), in batch mode: the Eglot setup gets qwen-lsp's suggestion as a
completion item and inserts it; qwen.el binds accept keys a terminal can type and refuses an lsp-mode without
inline completion with a clear message.

Debian 12's lsp-mode (8.0.0) predates `lsp-inline-completion`, so the qwen.el checks load it against a
stand-in feature that holds lsp-mode's own `lsp-inline-completion-active-map` (its accept key C-<return>, and a
default binding that cancels on any other key, as in lsp-mode 9.0.1); the keys are then looked up by Emacs
itself, as a terminal sends them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from neovim_driver import EDITORS, isolated_env

from context.model.fakeserver import FakeOpenAIServer, RecordedRequest

EMACS_LISP = EDITORS / "emacs"
SCRIPT = Path(__file__).with_name("emacs_eglot.el")
COMPLETION = "rectangle_area(w, h) for w, h in sizes)"
GEOMETRY = 'def rectangle_area(width: float, height: float) -> float:\n    return width * height\n'
MAIN = "from geometry import rectangle_area\n\n\ndef total_area(sizes):\n    return "

#: lsp-mode 9.0.1's `lsp-inline-completion-active-map` (accept, cycle, cancel, and cancel on any other key).
LSP_INLINE_COMPLETION = """
(defvar qwen-test-calls nil)
(defun lsp-inline-completion-accept () (interactive) (push 'accept qwen-test-calls))
(defun lsp-inline-completion-cancel () (interactive) (push 'cancel qwen-test-calls))
(defun lsp-inline-completion-next () (interactive) (push 'next qwen-test-calls))
(defvar lsp-inline-completion-active-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "C-<return>") #'lsp-inline-completion-accept)
    (define-key map (kbd "C-n") #'lsp-inline-completion-next)
    (define-key map (kbd "C-g") #'lsp-inline-completion-cancel)
    (define-key map (kbd "C-c C-k") #'lsp-inline-completion-cancel)
    (define-key map [t] #'lsp-inline-completion-cancel)
    map))
(provide 'lsp-inline-completion)
"""
#: What qwen.el needs of lsp-mode at load time.
LSP_MODE = """
(defun lsp-register-client (_client) nil)
(defun make-lsp-client (&rest _) nil)
(defun lsp-stdio-connection (_command) nil)
(provide 'lsp-mode)
"""


@pytest.fixture(scope="module")
def emacs(client: Callable[[str | None, str, str], str]) -> str:
    """Emacs with Eglot (built in from 29, Debian's elpa-eglot on 28)."""
    path = client(shutil.which("emacs"), "Emacs", "apt-get install emacs-nox elpa-eglot (.ci/run does it)")
    done = subprocess.run([path, "--batch", "--eval", "(require 'eglot)"], capture_output=True, text=True,
                          timeout=60, check=False)
    client(path if done.returncode == 0 else None, "Eglot", "apt-get install elpa-eglot (.ci/run does it)")
    return path


def batch(emacs: str, home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``emacs --batch ARGS`` with its own HOME (no user configuration)."""
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run([emacs, "--batch", *args], capture_output=True, text=True, timeout=180, check=False,
                          env=(env or isolated_env(home)) | {"HOME": str(home)})


def _reply(request: RecordedRequest) -> str:
    return COMPLETION


def test_eglot_with_the_documented_setup_completes_from_qwen_lsp(emacs: str, tmp_path: Path) -> None:
    repo = tmp_path / "shapes"
    repo.mkdir()
    (repo / ".git").mkdir()  # the project Eglot serves
    (repo / "geometry.py").write_text(GEOMETRY)
    (repo / "main.py").write_text(MAIN)
    log = tmp_path / "eglot.json"
    with FakeOpenAIServer(_reply) as model:
        env = isolated_env(tmp_path / "home") | {
            "QWEN_PLUGIN": str(EMACS_LISP), "QWEN_E2E_FILE": str(repo / "main.py"), "QWEN_E2E_LOG": str(log),
            "QWEN_BASE_URL": model.base_url, "QWEN_MODEL": "qwen3-coder",
        }
        done = batch(emacs, tmp_path / "home", "-l", str(SCRIPT), env=env)
        fim = [r for r in model.requests if r.route in ("completions", "infill")]
    assert log.exists(), done.stderr[-3000:]
    result = json.loads(log.read_text())
    assert result.get("server") == "qwen-lsp", (result, done.stderr[-3000:])
    assert any(COMPLETION in candidate for candidate in result["candidates"]), result
    assert result["line"] == "    return sum(" + COMPLETION, result
    assert fim and "def rectangle_area" in json.dumps(fim[-1].body)


def _qwen_el(emacs: str, tmp_path: Path, lsp_mode: str, body: str) -> subprocess.CompletedProcess[str]:
    """Load qwen.el in Emacs over the given stand-in of lsp-mode's features, then evaluate ``body``."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    (stubs / "lsp-mode.el").write_text(LSP_MODE)
    (stubs / "lsp-inline-completion.el").write_text(LSP_INLINE_COMPLETION)
    if lsp_mode == "8.0.0":  # Debian 12's: no lsp-inline-completion
        (stubs / "lsp-inline-completion.el").unlink()
    return batch(emacs, tmp_path / "home", "-Q", "-L", str(stubs), "-L", str(EMACS_LISP), "--eval",
                 f"(progn (setq backtrace-on-error-noninteractive nil) (require 'qwen) {body})")


def test_qwen_el_accepts_with_keys_a_terminal_can_type(emacs: str, tmp_path: Path) -> None:
    keys = {"TAB (terminal)": '"\\t"', "<tab> (graphical)": "[tab]", "C-c C-c": '(kbd "C-c C-c")'}
    lookups = " ".join(f"(princ (format \"%s\\n\" (lookup-key lsp-inline-completion-active-map {key})))"
                       for key in keys.values())
    done = _qwen_el(emacs, tmp_path, "9.0.1", lookups)
    assert done.returncode == 0, done.stderr
    assert dict(zip(keys, done.stdout.split())) == dict.fromkeys(keys, "lsp-inline-completion-accept")
    on_a_terminal = _qwen_el(emacs, tmp_path, "9.0.1", (
        "(let ((unread-command-events (listify-key-sequence (kbd \"TAB\"))))"
        "  (set-transient-map lsp-inline-completion-active-map)"
        "  (call-interactively (key-binding (read-key-sequence nil))) (princ qwen-test-calls))"))
    assert on_a_terminal.stdout == "(accept)", on_a_terminal.stderr


def test_qwen_el_declares_what_it_needs_and_says_so_on_an_older_lsp_mode(emacs: str, tmp_path: Path) -> None:
    header = (EMACS_LISP / "qwen.el").read_text().split(";;; Commentary:")[0]
    assert ';; Package-Requires: ((emacs "28.1") (lsp-mode "9.0.1"))' in header
    done = _qwen_el(emacs, tmp_path, "8.0.0", "")
    assert done.returncode != 0
    assert "qwen.el needs lsp-mode 9.0.1 or newer" in done.stderr and "qwen-eglot.el" in done.stderr, done.stderr
