/**
 * The mapping from the extension's `qwen.*` settings to the options qwen-lsp reads.
 *
 * qwen-lsp takes one options object in `initializationOptions` and again as the `settings` of
 * `workspace/didChangeConfiguration` (lsp_server/options.py). This module is the only place that knows both
 * shapes, and it is pure (no `vscode` import) so the mapping is unit-tested with node's own test runner,
 * without downloading VS Code. Validation stays with the server, which names every ignored setting in a
 * message.
 */

/** Each `qwen.` setting sent to the server -> its key path in the server's options object. */
export const SERVER_KEYS = {
  preset: ["model", "preset"],
  baseUrl: ["model", "base_url"],
  model: ["model", "model"],
  budget: ["budget"],
  debounceMs: ["debounce_ms"],
  languages: ["languages"],
  "inline.enabled": ["inline"],
  "completion.enabled": ["completion"],
  "actions.enabled": ["actions"],
} as const satisfies Record<string, readonly string[]>;

export type ServerSetting = keyof typeof SERVER_KEYS;

/** Reads one `qwen.` setting; `vscode.WorkspaceConfiguration.get` fits, and so does a plain object lookup. */
export type SettingReader = (name: ServerSetting) => unknown;

/** The options object for qwen-lsp: nested plain JSON (`{"model": {...}, "budget": 8192, ...}`). */
export interface ServerOptions {
  model: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Whether a setting is unset: absent, or empty in the Settings UI (blank text, an empty list). Unset settings
 * are left out, so the server falls back to the environment (`QWEN_*`), the preset and its own defaults.
 */
function isUnset(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === "string" && value.trim() === "") ||
    (Array.isArray(value) && value.length === 0)
  );
}

/** Build the server options from the `qwen.*` settings (text trimmed, unset ones omitted). */
export function toServerOptions(read: SettingReader): ServerOptions {
  const options: ServerOptions = { model: {} };
  for (const [setting, [head, leaf]] of Object.entries(SERVER_KEYS) as [ServerSetting, readonly string[]][]) {
    const value = read(setting);
    if (isUnset(value)) {
      continue;
    }
    const cleaned = typeof value === "string" ? value.trim() : value;
    if (leaf === undefined) {
      options[head] = cleaned;
    } else {
      const group = (options[head] ??= {}) as Record<string, unknown>;
      group[leaf] = cleaned;
    }
  }
  return options;
}
