/** qwen.serverPath is resolved the way a shell would, so a missing server is reported before spawning it. */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

import { findExecutable } from "../executable";

function folderWithServer(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qwen-exe-"));
  fs.mkdirSync(path.join(dir, ".venv", "bin"), { recursive: true });
  for (const file of [path.join(dir, "qwen-lsp"), path.join(dir, ".venv", "bin", "qwen-lsp")]) {
    fs.writeFileSync(file, "#!/bin/sh\n", { mode: 0o755 });
  }
  fs.writeFileSync(path.join(dir, "not-executable"), "", { mode: 0o644 });
  return dir;
}

test("a bare name is found on PATH and a missing one is undefined", () => {
  const dir = folderWithServer();
  const env = { PATH: ["/nonexistent", dir].join(path.delimiter) };
  assert.equal(findExecutable("qwen-lsp", env, undefined, "linux"), path.join(dir, "qwen-lsp"));
  assert.equal(findExecutable("qwen-lsp-missing", env, undefined, "linux"), undefined);
  assert.equal(findExecutable("not-executable", env, undefined, "linux"), undefined);
});

test("a relative path is taken from the workspace folder and an absolute one as is", () => {
  const dir = folderWithServer();
  const venv = path.join(dir, ".venv", "bin", "qwen-lsp");
  assert.equal(findExecutable(".venv/bin/qwen-lsp", { PATH: "" }, dir, "linux"), venv);
  assert.equal(findExecutable(venv, { PATH: "" }, undefined, "linux"), venv);
  assert.equal(findExecutable(".venv/bin/qwen-lsp", { PATH: "" }, os.tmpdir(), "linux"), undefined);
});
