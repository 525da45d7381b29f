;;; emacs_eglot.el --- the README's Eglot setup in a real Emacs, in batch mode  -*- lexical-binding: t; -*-

;; Loads editors/emacs/qwen-eglot.el as the README says, opens $QWEN_E2E_FILE (python-mode runs
;; `eglot-ensure'), types "sum(" at the end and asks `completion-at-point' until qwen-lsp's suggestion
;; comes, then inserts it.  Writes what happened to $QWEN_E2E_LOG as JSON.

(require 'json)
(add-to-list 'load-path (getenv "QWEN_PLUGIN"))
(require 'qwen-eglot)
(add-hook 'python-mode-hook #'eglot-ensure)
(setq eglot-sync-connect 60)

(defun qwen-test--log (result)
  "Write RESULT (an alist) to the log as JSON and exit."
  (with-temp-file (getenv "QWEN_E2E_LOG") (insert (json-encode result)))
  (kill-emacs 0))

(find-file (getenv "QWEN_E2E_FILE"))
(run-hooks 'post-command-hook)          ; what `eglot-ensure' waits for after a command
(with-timeout (60 (qwen-test--log '((error . "qwen-lsp did not connect"))))
  (while (not (eglot-current-server)) (accept-process-output nil 0.1)))
(goto-char (point-max))
(insert "sum(")
(let ((candidates nil)
      (deadline (+ (float-time) 60)))
  (while (and (null candidates) (< (float-time) deadline))
    (let ((capf (eglot-completion-at-point)))
      (setq candidates (and capf (all-completions "" (nth 2 capf)))))
    (unless candidates (accept-process-output nil 0.2)))
  (when candidates (completion-at-point))
  (qwen-test--log `((server . ,(car (process-command (jsonrpc--process (eglot-current-server)))))
                    (candidates . ,(vconcat candidates))
                    (line . ,(buffer-substring (line-beginning-position) (line-end-position)))))))
