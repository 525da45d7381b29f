/**
 * What the status-bar item says: the server's state, the index's `$/progress` and the last model error.
 *
 * Pure functions from events to a view (no `vscode` import), so the extension only forwards events here and
 * paints the result, and the wording is unit-tested without VS Code.
 */

export type ServerState = "starting" | "running" | "stopped" | "missing";

/** One `$/progress` work-done value, as the LSP defines it (begin / report / end). */
export interface ProgressValue {
  kind: "begin" | "report" | "end";
  title?: string;
  message?: string;
  percentage?: number;
}

export interface Status {
  server: ServerState;
  inlineEnabled: boolean;
  /** The running work-done progress (indexing), if any. */
  progress?: { title: string; message?: string; percentage?: number };
  /** The last model error the server reported, until the configuration changes or the user re-indexes. */
  modelError?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  severity: "normal" | "warning" | "error";
}

export function initialStatus(inlineEnabled: boolean): Status {
  return { server: "starting", inlineEnabled };
}

/** Fold one work-done progress value into the status: begin/report show it, end clears it. */
export function withProgress(status: Status, value: ProgressValue): Status {
  if (value.kind === "end") {
    return { ...status, progress: undefined };
  }
  const title = value.title ?? status.progress?.title ?? "Working";
  return {
    ...status,
    progress: {
      title,
      message: value.message ?? (value.kind === "report" ? status.progress?.message : undefined),
      percentage: value.percentage ?? (value.kind === "report" ? status.progress?.percentage : undefined),
    },
  };
}

const HELP = "Click for Qwen commands.";

/** The text (with a codicon), tooltip and severity of the status-bar item for a status. */
export function render(status: Status): StatusView {
  if (status.server === "missing") {
    return { text: "$(error) Qwen", tooltip: "qwen-lsp was not found. " + HELP, severity: "error" };
  }
  if (status.server === "stopped") {
    return { text: "$(debug-stop) Qwen", tooltip: "qwen-lsp is not running. " + HELP, severity: "error" };
  }
  if (status.server === "starting") {
    return { text: "$(loading~spin) Qwen", tooltip: "Starting qwen-lsp…", severity: "normal" };
  }
  if (status.progress !== undefined) {
    const { title, message, percentage } = status.progress;
    const amount = percentage !== undefined ? ` ${Math.round(percentage)}%` : "";
    const detail = [title, message].filter(Boolean).join(": ");
    return { text: `$(sync~spin) Qwen${amount}`, tooltip: `${detail}\n${HELP}`, severity: "normal" };
  }
  if (status.modelError !== undefined) {
    return {
      text: "$(warning) Qwen",
      tooltip: `Model error: ${status.modelError}\n${HELP}`,
      severity: "warning",
    };
  }
  if (!status.inlineEnabled) {
    return { text: "$(circle-slash) Qwen", tooltip: "Inline completion is off. " + HELP, severity: "normal" };
  }
  return { text: "$(check) Qwen", tooltip: "Index ready, inline completion on. " + HELP, severity: "normal" };
}
