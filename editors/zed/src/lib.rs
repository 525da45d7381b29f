//! Starts qwen-lsp for Zed: from `lsp.qwen-lsp.binary` in the settings, else from PATH, and passes
//! `lsp.qwen-lsp.initialization_options` and `lsp.qwen-lsp.settings` through to the server unchanged.

use zed_extension_api::{self as zed, settings::LspSettings, LanguageServerId, Result, Worktree};

const SERVER: &str = "qwen-lsp";
/// Puts qwen-lsp on PATH from a checkout of qwen-context (no package of that name is published).
const INSTALL: &str = "pipx install /path/to/qwen-context";

struct QwenExtension;

impl zed::Extension for QwenExtension {
    fn new() -> Self {
        QwenExtension
    }

    fn language_server_command(&mut self, _id: &LanguageServerId, worktree: &Worktree) -> Result<zed::Command> {
        let binary = LspSettings::for_worktree(SERVER, worktree).ok().and_then(|settings| settings.binary);
        let args = binary.as_ref().and_then(|binary| binary.arguments.clone()).unwrap_or_default();
        let command = binary
            .and_then(|binary| binary.path)
            .or_else(|| worktree.which(SERVER))
            .ok_or_else(|| format!("{SERVER} was not found on PATH: install it with `{INSTALL}`, or set lsp.{SERVER}.binary.path"))?;
        Ok(zed::Command { command, args, env: worktree.shell_env() })
    }

    fn language_server_initialization_options(
        &mut self,
        _id: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<Option<zed::serde_json::Value>> {
        Ok(LspSettings::for_worktree(SERVER, worktree).ok().and_then(|settings| settings.initialization_options))
    }

    fn language_server_workspace_configuration(
        &mut self,
        _id: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<Option<zed::serde_json::Value>> {
        Ok(LspSettings::for_worktree(SERVER, worktree).ok().and_then(|settings| settings.settings))
    }
}

zed::register_extension!(QwenExtension);
