/** The status-bar item follows the server's state, the indexing progress and model errors. */

import assert from "node:assert/strict";
import { test } from "node:test";

import { initialStatus, render, withProgress, type Status } from "../status";

const running: Status = { ...initialStatus(true), server: "running" };

test("indexing progress shows its percentage and message, and disappears when it ends", () => {
  let status = withProgress(running, { kind: "begin", title: "Indexing", percentage: 0 });
  status = withProgress(status, { kind: "report", message: "1200/3000 files", percentage: 40 });
  const view = render(status);
  assert.equal(view.text, "$(sync~spin) Qwen 40%");
  assert.match(view.tooltip, /^Indexing: 1200\/3000 files/);
  status = withProgress(status, { kind: "end" });
  assert.equal(render(status).text, "$(check) Qwen");
});

test("a report without a percentage keeps the last one", () => {
  let status = withProgress(running, { kind: "begin", title: "Indexing", percentage: 10 });
  status = withProgress(status, { kind: "report", message: "parsing" });
  assert.equal(render(status).text, "$(sync~spin) Qwen 10%");
});

test("a model error turns the item into a warning that carries the message", () => {
  const view = render({ ...running, modelError: "cannot reach http://127.0.0.1:9/v1" });
  assert.equal(view.severity, "warning");
  assert.match(view.tooltip, /cannot reach http:\/\/127\.0\.0\.1:9\/v1/);
});

test("a missing server is an error and inline off is visible", () => {
  assert.equal(render({ ...running, server: "missing" }).severity, "error");
  assert.match(render({ ...running, server: "missing" }).tooltip, /qwen-lsp was not found/);
  assert.equal(render({ ...running, inlineEnabled: false }).text, "$(circle-slash) Qwen");
});
