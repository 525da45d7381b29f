/**
 * The command line that prints the prompt qwen-lsp would send for a cursor: `qwen-context prompt`.
 *
 * `qwen-context` is installed beside `qwen-lsp` by the same package and runs the same prompt assembly on the
 * same on-disk index, so "Qwen: Show the Prompt for the Cursor" needs nothing from the language server. Pure
 * (no `vscode` import): the command line is unit-tested without VS Code and run for real by the pytest suite.
 */

import * as path from "node:path";

export interface PromptRequest {
  /** The workspace folder the file belongs to (the repository root). */
  root: string;
  /** The file's absolute path. */
  file: string;
  /** 0-based line of the cursor. */
  line: number;
  /** The text of the cursor's line, to count the column in code points as the engine does. */
  lineText: string;
  /** 0-based column of the cursor in UTF-16 code units (VS Code's positions). */
  character: number;
  /** Token budget (`qwen.budget`). */
  budget: number;
  /** A file holding the editor's unsaved text of `file`. */
  bufferFile: string;
}

/** The `qwen-context` executable beside a resolved `qwen-lsp` executable. */
export function cliBeside(serverExecutable: string): string {
  const extension = path.extname(serverExecutable);
  return path.join(path.dirname(serverExecutable), `qwen-context${extension}`);
}

/** The arguments of `qwen-context prompt` for a cursor (PATH:LINE:COL, 1-based, columns in code points). */
export function promptArguments(request: PromptRequest): string[] {
  const relative = path.relative(request.root, request.file).split(path.sep).join("/");
  const column = [...request.lineText.slice(0, request.character)].length;
  return [
    "prompt",
    "--repo",
    request.root,
    "--budget",
    String(request.budget),
    "--buffer",
    request.bufferFile,
    `${relative}:${request.line + 1}:${column + 1}`,
  ];
}
