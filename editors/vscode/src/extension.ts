/**
 * The Qwen Context extension: starts qwen-lsp, keeps its configuration in step with the `qwen.*` settings,
 * shows its state in the status bar and offers a few commands.
 *
 * Inline completions need no code here: vscode-languageclient >= 10.0.1 registers the server's
 * `textDocument/inlineCompletion` provider by default.
 */

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  MessageType,
  ShowMessageNotification,
  State,
  type ShowMessageParams,
} from "vscode-languageclient/node";

import { findExecutable, INSTALL_COMMAND } from "./executable";
import { cliBeside, promptArguments } from "./prompt";
import { SERVER_KEYS, toServerOptions, type ServerSetting } from "./settings";
import { initialStatus, render, withProgress, type ServerState, type Status } from "./status";

const run = promisify(execFile);

/** Where `Qwen: Set API Key` keeps the key (VS Code's secret storage, never settings.json). */
const API_KEY_SECRET = "qwen.apiKey";

/** Settings whose change needs a new server process rather than a configuration notification. */
const RESTART_SETTINGS = ["qwen.serverPath", "qwen.serverArgs"];

/** The languages the client attaches to: the `onLanguage:` activation events of package.json. */
function documentLanguages(extension: vscode.Extension<unknown>): string[] {
  const events = (extension.packageJSON as { activationEvents?: string[] }).activationEvents ?? [];
  const prefix = "onLanguage:";
  return events.filter((event) => event.startsWith(prefix)).map((event) => event.slice(prefix.length));
}

function serverOptions(): ReturnType<typeof toServerOptions> {
  const config = vscode.workspace.getConfiguration("qwen");
  return toServerOptions((name: ServerSetting) => config.get(name));
}

/** One language client plus the status-bar item that reports on it. */
class Qwen implements vscode.Disposable {
  private client: LanguageClient | undefined;
  /** The qwen-lsp executable the client runs, once found. */
  private executable: string | undefined;
  private status: Status;
  private readonly item = vscode.window.createStatusBarItem(
    "qwen.status",
    vscode.StatusBarAlignment.Right,
    100,
  );
  private readonly output = vscode.window.createOutputChannel("Qwen", { log: true });

  constructor(private readonly context: vscode.ExtensionContext) {
    this.status = initialStatus(this.inlineEnabled());
    this.item.name = "Qwen";
    this.item.command = "qwen.menu";
    this.paint();
    this.item.show();
  }

  private inlineEnabled(): boolean {
    return vscode.workspace.getConfiguration("qwen").get<boolean>("inline.enabled", true);
  }

  private update(change: Partial<Status>): void {
    this.status = { ...this.status, ...change };
    this.paint();
  }

  private paint(): void {
    const view = render(this.status);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    const background = `statusBarItem.${view.severity}Background`;
    this.item.backgroundColor = view.severity === "normal" ? undefined : new vscode.ThemeColor(background);
  }

  /** Start qwen-lsp, or explain how to install it when `qwen.serverPath` finds nothing. */
  async start(): Promise<void> {
    const config = vscode.workspace.getConfiguration("qwen");
    const serverPath = config.get<string>("serverPath", "qwen-lsp");
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const command = findExecutable(serverPath, process.env, folder);
    this.executable = command;
    if (command === undefined) {
      this.update({ server: "missing" });
      void this.reportMissing(serverPath);
      return;
    }
    const apiKey = await this.context.secrets.get(API_KEY_SECRET);
    const env = apiKey === undefined ? process.env : { ...process.env, QWEN_API_KEY: apiKey };
    const client = new LanguageClient(
      "qwen",
      "Qwen",
      { command, args: config.get<string[]>("serverArgs", []), options: { env, cwd: folder } },
      {
        documentSelector: documentLanguages(this.context.extension).flatMap((language) => [
          { scheme: "file", language },
          { scheme: "untitled", language },
        ]),
        initializationOptions: serverOptions(),
        outputChannel: this.output,
        middleware: {
          handleWorkDoneProgress: (token, params, next) => {
            this.update(withProgress(this.status, params));
            next(token, params);
          },
        },
      },
    );
    client.onDidChangeState(({ newState }) => {
      const server: ServerState =
        newState === State.Running ? "running" : newState === State.Starting ? "starting" : "stopped";
      this.update({ server, progress: undefined });
    });
    // Replaces the client's default pop-up so model errors also show in the status bar.
    client.onNotification(ShowMessageNotification.type, (message) => this.showMessage(message));
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.output.error(`qwen-lsp failed to start: ${String(error)}`);
      void vscode.window.showErrorMessage(`qwen-lsp failed to start: ${String(error)}`, "Show log").then(
        (choice) => choice && this.output.show(),
      );
    }
  }

  private showMessage({ type, message }: ShowMessageParams): void {
    if (type === MessageType.Error) {
      this.update({ modelError: message });
      void vscode.window.showErrorMessage(message);
    } else if (type === MessageType.Warning) {
      void vscode.window.showWarningMessage(message);
    } else {
      void vscode.window.showInformationMessage(message);
    }
  }

  private async reportMissing(serverPath: string): Promise<void> {
    const copy = "Copy install command";
    const settings = "Open settings";
    const choice = await vscode.window.showErrorMessage(
      `Qwen: the language server "${serverPath}" was not found. Install it with \`${INSTALL_COMMAND}\` ` +
        "(into a Python 3.11+ environment on your PATH), or set qwen.serverPath to its full path; then run " +
        "'Qwen: Restart Server'.",
      copy,
      settings,
    );
    if (choice === copy) {
      await vscode.env.clipboard.writeText(INSTALL_COMMAND);
    } else if (choice === settings) {
      await vscode.commands.executeCommand("workbench.action.openSettings", "qwen.serverPath");
    }
  }

  async restart(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.needsStop()) {
      await client.stop();
    }
    this.update({ server: "starting", progress: undefined, modelError: undefined });
    await this.start();
  }

  async stop(): Promise<void> {
    if (this.client?.needsStop()) {
      await this.client.stop();
    }
  }

  /** Send changed settings to the running server, or restart it when the server command itself changed. */
  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (RESTART_SETTINGS.some((name) => event.affectsConfiguration(name))) {
      await this.restart();
      return;
    }
    const sent = Object.keys(SERVER_KEYS).some((name) => event.affectsConfiguration(`qwen.${name}`));
    if (!sent) {
      return;
    }
    this.update({ inlineEnabled: this.inlineEnabled(), modelError: undefined });
    if (this.client?.isRunning()) {
      const settings = serverOptions();
      await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings });
    }
  }

  /** Flip `qwen.inline.enabled` where it is set (workspace or user settings). */
  async toggleInline(): Promise<void> {
    const config = vscode.workspace.getConfiguration("qwen");
    const setInWorkspace = config.inspect<boolean>("inline.enabled")?.workspaceValue !== undefined;
    const target = setInWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await config.update("inline.enabled", !this.inlineEnabled(), target);
  }

  /** Restart qwen-lsp: on start it brings the index up to date with the files on disk ($/progress). */
  async reindex(): Promise<void> {
    await this.restart();
  }

  /**
   * Open the prompt qwen-lsp would send for the cursor, to inspect what the model sees: `qwen-context prompt`
   * (installed beside qwen-lsp) on the editor's unsaved text.
   */
  async showPrompt(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const folder = editor && vscode.workspace.getWorkspaceFolder(editor.document.uri);
    if (editor === undefined || folder === undefined || this.executable === undefined) {
      void vscode.window.showInformationMessage("Qwen: place the cursor in a file of the workspace first.");
      return;
    }
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "qwen-prompt-"));
    const bufferFile = path.join(scratch, "buffer");
    try {
      fs.writeFileSync(bufferFile, editor.document.getText());
      const cursor = editor.selection.active;
      const args = promptArguments({
        root: folder.uri.fsPath,
        file: editor.document.uri.fsPath,
        line: cursor.line,
        lineText: editor.document.lineAt(cursor.line).text,
        character: cursor.character,
        budget: vscode.workspace.getConfiguration("qwen").get<number>("budget", 8192),
        bufferFile,
      });
      const { stdout } = await run(cliBeside(this.executable), args, { maxBuffer: 64 * 1024 * 1024 });
      const document = await vscode.workspace.openTextDocument({ content: stdout, language: "plaintext" });
      await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    } catch (error) {
      void vscode.window.showErrorMessage(`Qwen: could not build the prompt: ${String(error)}`);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: "Qwen: API key for the model endpoint (stored in VS Code's secret storage)",
      password: true,
      ignoreFocusOut: true,
      placeHolder: "Leave empty to remove the stored key",
    });
    if (key === undefined) {
      return;
    }
    const secrets = this.context.secrets;
    await (key === "" ? secrets.delete(API_KEY_SECRET) : secrets.store(API_KEY_SECRET, key));
    await this.restart();
  }

  /** The status-bar item's menu: the last error first, then every command. */
  async menu(): Promise<void> {
    const items: (vscode.QuickPickItem & { command?: string })[] = [
      {
        label: this.inlineEnabled() ? "Turn inline completion off" : "Turn inline completion on",
        command: "qwen.toggleInline",
      },
      { label: "Show the prompt for the cursor", command: "qwen.showPrompt" },
      { label: "Re-index the workspace", command: "qwen.reindex" },
      { label: "Set the API key", command: "qwen.setApiKey" },
      { label: "Restart the server", command: "qwen.restart" },
      { label: "Show the log", command: "qwen.showLog" },
    ];
    if (this.status.modelError !== undefined) {
      const detail = this.status.modelError;
      items.unshift({ label: "$(warning) Last model error", detail, command: "qwen.showLog" });
    }
    const title = render(this.status).tooltip.split("\n")[0];
    const choice = await vscode.window.showQuickPick(items, { title });
    if (choice?.command !== undefined) {
      await vscode.commands.executeCommand(choice.command);
    }
  }

  showLog(): void {
    this.output.show();
  }

  dispose(): void {
    this.item.dispose();
    this.output.dispose();
  }
}

let qwen: Qwen | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const extension = new Qwen(context);
  qwen = extension;
  context.subscriptions.push(
    extension,
    vscode.commands.registerCommand("qwen.toggleInline", () => extension.toggleInline()),
    vscode.commands.registerCommand("qwen.reindex", () => extension.reindex()),
    vscode.commands.registerCommand("qwen.showPrompt", () => extension.showPrompt()),
    vscode.commands.registerCommand("qwen.setApiKey", () => extension.setApiKey()),
    vscode.commands.registerCommand("qwen.restart", () => extension.restart()),
    vscode.commands.registerCommand("qwen.showLog", () => extension.showLog()),
    vscode.commands.registerCommand("qwen.menu", () => extension.menu()),
    vscode.workspace.onDidChangeConfiguration((event) => extension.configurationChanged(event)),
  );
  await extension.start();
}

export async function deactivate(): Promise<void> {
  await qwen?.stop();
  qwen = undefined;
}
