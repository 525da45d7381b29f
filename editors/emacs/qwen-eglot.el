;;; qwen-eglot.el --- Qwen3-Coder suggestions and code actions through qwen-lsp in Eglot  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (eglot "1.9"))
;; Keywords: languages, tools
;; SPDX-License-Identifier: Apache-2.0

;;; Commentary:

;; Registers qwen-lsp (`pipx install /path/to/qwen-context' from a checkout puts it on PATH) in
;; `eglot-server-programs' for the modes of `qwen-eglot-modes'. Eglot (built into Emacs 29+,
;; `apt install elpa-eglot' for Debian 12's Emacs 28) has no inline completion, so qwen-lsp offers its
;; suggestion as a completion item: `completion-at-point' (C-M-i, or ESC TAB in a terminal) shows it,
;; company and corfu show it by themselves; `M-x eglot-code-actions' lists the code actions.
;;
;;   (add-to-list 'load-path "/path/to/qwen-context/editors/emacs")
;;   (require 'qwen-eglot)
;;   (add-hook 'python-mode-hook #'eglot-ensure)
;;
;; Eglot runs one server per buffer: in these modes qwen-lsp takes the place of the language's own
;; server (lsp-mode with qwen.el runs both side by side).

;;; Code:

(require 'eglot)

(defgroup qwen-eglot nil
  "Qwen3-Coder through the qwen-lsp language server, in Eglot."
  :group 'eglot
  :prefix "qwen-eglot-")

(defcustom qwen-eglot-server-command '("qwen-lsp")
  "The qwen-lsp command line (an absolute path when qwen-lsp is not on PATH)."
  :type '(repeat string))

(defcustom qwen-eglot-modes '(python-mode python-ts-mode)
  "Major modes in which Eglot starts qwen-lsp (instead of the language's own server)."
  :type '(repeat symbol))

(defcustom qwen-eglot-options '(:completion t)
  "qwen-lsp options sent as `initializationOptions' (see the README's settings table).
Completion items are on: Eglot shows no inline completion.  The model comes from
~/.config/qwen-context/config.toml or the QWEN_* environment variables unless `:model' says."
  :type 'plist)

(defun qwen-eglot--contact (&rest _)
  "The Eglot contact of qwen-lsp: its command line and initialization options."
  (append qwen-eglot-server-command (list :initializationOptions qwen-eglot-options)))

(add-to-list 'eglot-server-programs (cons qwen-eglot-modes #'qwen-eglot--contact))

(provide 'qwen-eglot)
;;; qwen-eglot.el ends here
