/** The `qwen.*` settings become exactly the options object qwen-lsp validates (lsp_server/options.py). */

import assert from "node:assert/strict";
import { test } from "node:test";

import { SERVER_KEYS, toServerOptions, type ServerSetting } from "../settings";

/** A reader over a plain object, standing in for `vscode.workspace.getConfiguration("qwen").get`. */
function reader(values: Partial<Record<ServerSetting, unknown>>) {
  return (name: ServerSetting) => values[name];
}

test("every setting lands on the server's key, model settings nested under model", () => {
  const options = toServerOptions(
    reader({
      preset: "dashscope",
      baseUrl: "http://127.0.0.1:8080/v1",
      model: "qwen3-coder-30b-a3b",
      budget: 4096,
      debounceMs: 75,
      languages: ["python", "go"],
      "inline.enabled": false,
      "completion.enabled": true,
      "actions.enabled": false,
    }),
  );
  assert.deepEqual(options, {
    model: { preset: "dashscope", base_url: "http://127.0.0.1:8080/v1", model: "qwen3-coder-30b-a3b" },
    budget: 4096,
    debounce_ms: 75,
    languages: ["python", "go"],
    inline: false,
    completion: true,
    actions: false,
  });
});

test("blank text and empty lists are left out, so the server falls back to its own defaults", () => {
  const options = toServerOptions(reader({ preset: "", baseUrl: "   ", model: undefined, languages: [] }));
  assert.deepEqual(options, { model: {} });
  assert.equal(JSON.stringify(options), '{"model":{}}');
});

test("text values are trimmed before they are sent", () => {
  const values = { baseUrl: " http://localhost:11434/v1 \n", model: " qwen3-coder " };
  const options = toServerOptions(reader(values));
  assert.deepEqual(options.model, { base_url: "http://localhost:11434/v1", model: "qwen3-coder" });
});

test("false and zero are sent, not mistaken for unset", () => {
  const options = toServerOptions(reader({ debounceMs: 0, "inline.enabled": false }));
  assert.deepEqual(options, { model: {}, debounce_ms: 0, inline: false });
});

test("values of the wrong type are passed on for the server to reject with a message", () => {
  const options = toServerOptions(reader({ budget: "lots" }));
  assert.deepEqual(options, { model: {}, budget: "lots" });
});

test("the options use only keys the server's options model declares", () => {
  const serverKeys = new Set([
    "model",
    "budget",
    "debounce_ms",
    "languages",
    "inline",
    "completion",
    "actions",
  ]);
  const modelKeys = new Set(["preset", "base_url", "model"]);
  for (const [head, leaf] of Object.values(SERVER_KEYS) as (readonly string[])[]) {
    assert.ok(serverKeys.has(head), head);
    if (leaf !== undefined) {
      assert.ok(modelKeys.has(leaf), leaf);
    }
  }
});
