/** "Show the Prompt for the Cursor" runs `qwen-context prompt` with the cursor the engine's way. */

import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";

import { cliBeside, promptArguments } from "../prompt";

test("the cursor becomes a 1-based PATH:LINE:COL relative to the workspace folder", () => {
  const args = promptArguments({
    root: "/home/user/repo",
    file: "/home/user/repo/src/app.py",
    line: 4,
    lineText: "    return sum(",
    character: 15,
    budget: 4096,
    bufferFile: "/tmp/buffer",
  });
  assert.deepEqual(args, [
    "prompt",
    "--repo",
    "/home/user/repo",
    "--budget",
    "4096",
    "--buffer",
    "/tmp/buffer",
    "src/app.py:5:16",
  ]);
});

test("columns count code points, not UTF-16 units, as the engine does", () => {
  const lineText = "s = '😀' + x";
  const character = lineText.indexOf("x");
  const args = promptArguments({
    root: "/r",
    file: "/r/a.py",
    line: 0,
    lineText,
    character,
    budget: 8192,
    bufferFile: "/b",
  });
  assert.equal(args.at(-1), `a.py:1:${[...lineText.slice(0, character)].length + 1}`);
  assert.equal(args.at(-1), "a.py:1:11");
});

test("the CLI is found beside the server executable, keeping its extension", () => {
  assert.equal(cliBeside(path.join("/venv", "bin", "qwen-lsp")), path.join("/venv", "bin", "qwen-context"));
  const windows = path.join("/venv", "Scripts", "qwen-lsp.exe");
  assert.equal(cliBeside(windows), path.join("/venv", "Scripts", "qwen-context.exe"));
});
