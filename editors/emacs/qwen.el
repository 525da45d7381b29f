;;; qwen.el --- Qwen3-Coder completions and code actions through qwen-lsp  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (lsp-mode "9.0.1"))
;; Keywords: languages, tools
;; SPDX-License-Identifier: Apache-2.0

;;; Commentary:

;; Registers qwen-lsp (`pipx install /path/to/qwen-context' from a checkout puts it on PATH) with
;; lsp-mode as an add-on server: it runs beside
;; each language's own server and adds repository-level inline completions (lsp-mode's
;; `lsp-inline-completion-mode', which lsp-mode turns on by itself for servers that offer it) and code
;; actions (explain, docstring, refactor, fix, tests).
;;
;;   (add-to-list 'load-path "/path/to/qwen-context/editors/emacs")
;;   (require 'qwen)
;;   (setq qwen-base-url "http://127.0.0.1:8000/v1")   ; or qwen-preset, or ~/.config/qwen-context/config.toml
;;   (add-hook 'python-mode-hook #'lsp-deferred)
;;
;; While a suggestion is shown, TAB or C-c C-c (`qwen-accept-keys', both typable in `emacs -nw') accepts
;; it, C-n / C-p cycle, C-g dismisses.
;; `M-x qwen-code-action' picks one of qwen-lsp's code actions.
;;
;; Inline completion needs lsp-mode 9.0.1 or newer (`lsp-inline-completion'); with an older lsp-mode
;; (Debian 12 ships 8.0.0) use qwen-eglot.el instead.

;;; Code:

(require 'lsp-mode)
(unless (require 'lsp-inline-completion nil t)
  (error (concat "qwen.el needs lsp-mode 9.0.1 or newer, which has lsp-inline-completion; the lsp-mode"
                 " found has none: update it from MELPA, or use qwen-eglot.el with Eglot")))

(defgroup qwen nil
  "Qwen3-Coder through the qwen-lsp language server."
  :group 'lsp-mode
  :prefix "qwen-")

(defcustom qwen-server-command '("qwen-lsp")
  "The qwen-lsp command line."
  :type '(repeat string))

(defcustom qwen-preset nil
  "Model preset (vllm, sglang, llamacpp, ollama, lmstudio, dashscope, openrouter...); nil: the default."
  :type '(choice (const :tag "Default" nil) string))

(defcustom qwen-base-url nil
  "Base URL of the OpenAI-compatible endpoint; nil uses the preset or QWEN_BASE_URL."
  :type '(choice (const :tag "Default" nil) string))

(defcustom qwen-model nil
  "Model name sent to the endpoint; nil uses the preset or QWEN_MODEL."
  :type '(choice (const :tag "Default" nil) string))

(defcustom qwen-budget 8192
  "Token budget of a completion prompt (repository context included)."
  :type 'integer)

(defcustom qwen-debounce-ms 100
  "Milliseconds of quiet after a change before the model is asked."
  :type 'integer)

(defcustom qwen-languages nil
  "Languages to complete (python, go, rust, ...); nil completes every supported language."
  :type '(repeat string))

(defcustom qwen-completion nil
  "Whether qwen-lsp also offers its suggestion as a completion item (company, corfu), besides inline."
  :type 'boolean)

(defcustom qwen-actions t
  "Whether qwen-lsp offers its code actions."
  :type 'boolean)

(defcustom qwen-accept-keys '("TAB" "<tab>" "C-c C-c")
  "Keys accepting the shown suggestion, added to `lsp-inline-completion-active-map' (`kbd' syntax).
A terminal sends TAB for the tab key and a graphical Emacs <tab>, so both are bound; C-c C-c works
everywhere (lsp-mode's own C-<return> cannot be typed in a terminal)."
  :type '(repeat string))

(defconst qwen--major-modes
  '(python-mode python-ts-mode js-mode js-ts-mode js-jsx-mode typescript-mode typescript-ts-mode tsx-ts-mode
    go-mode go-ts-mode rust-mode rust-ts-mode java-mode java-ts-mode c-mode c-ts-mode c++-mode c++-ts-mode
    csharp-mode csharp-ts-mode ruby-mode ruby-ts-mode php-mode php-ts-mode kotlin-mode kotlin-ts-mode
    sh-mode bash-ts-mode lua-mode lua-ts-mode)
  "Major modes of the languages qwen-lsp parses.")

(defun qwen--json-bool (value)
  "VALUE as a JSON boolean for lsp-mode's serializer."
  (if value t :json-false))

(defun qwen--initialization-options ()
  "The qwen-lsp options (`initializationOptions') from the qwen- customizations."
  (let ((model (append (and qwen-preset (list :preset qwen-preset))
                       (and qwen-base-url (list :base_url qwen-base-url))
                       (and qwen-model (list :model qwen-model)))))
    (append (list :budget qwen-budget
                  :debounce_ms qwen-debounce-ms
                  :inline t
                  :completion (qwen--json-bool qwen-completion)
                  :actions (qwen--json-bool qwen-actions))
            (and model (list :model model))
            (and qwen-languages (list :languages (vconcat qwen-languages))))))

(lsp-register-client
 (make-lsp-client
  :new-connection (lsp-stdio-connection (lambda () qwen-server-command))
  :major-modes qwen--major-modes
  :add-on? t
  :priority -1
  :server-id 'qwen-lsp
  :initialization-options #'qwen--initialization-options))

(dolist (key qwen-accept-keys)
  (define-key lsp-inline-completion-active-map (kbd key) #'lsp-inline-completion-accept))

(defun qwen-code-action ()
  "Pick one of qwen-lsp's code actions for point or the region (their titles start with \"Qwen:\")."
  (interactive)
  (let ((actions (seq-filter (lambda (action) (string-prefix-p "Qwen:" (lsp:code-action-title action)))
                             (lsp-code-actions-at-point))))
    (if actions
        (lsp-execute-code-action (lsp--select-action actions))
      (message "qwen: no code action here"))))

(provide 'qwen)
;;; qwen.el ends here
