/**
 * Finding the qwen-lsp executable before starting it.
 *
 * Spawning a missing program only yields a bare ENOENT from the language client; looking it up first lets the
 * extension say what is missing and how to install it. No `vscode` import, so it is unit-tested directly.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * The command that puts the server on PATH, shown to the user when it is missing: it installs from a checkout of
 * qwen-context (no package of that name is published).
 */
export const INSTALL_COMMAND = "pipx install /path/to/qwen-context";

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Resolve the `qwen.serverPath` setting to an executable file, or undefined when there is none.
 *
 * A bare name is searched on PATH (with PATHEXT on Windows); `~/` is the home folder; any other path is taken
 * relative to `base` (the first workspace folder), so `.venv/bin/qwen-lsp` finds a project's virtualenv.
 */
export function findExecutable(
  command: string,
  env: NodeJS.ProcessEnv,
  base: string | undefined,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const extensions = platform === "win32" ? ["", ...(env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";")] : [""];
  const candidates = (file: string): string[] => extensions.map((ext) => file + ext);
  if (command.startsWith("~/")) {
    return candidates(path.join(os.homedir(), command.slice(2))).find(isExecutableFile);
  }
  if (command.includes("/") || command.includes("\\")) {
    const file = path.isAbsolute(command) || base === undefined ? command : path.join(base, command);
    return candidates(file).find(isExecutableFile);
  }
  const dirs = (env.PATH ?? env.Path ?? "").split(path.delimiter).filter((dir) => dir !== "");
  for (const dir of dirs) {
    const found = candidates(path.join(dir, command)).find(isExecutableFile);
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}
