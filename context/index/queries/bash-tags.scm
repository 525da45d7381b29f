; Bash tag query for qwen-context, written against tree-sitter-bash's grammar (MIT): functions, `readonly` and
; top-level ALL_CAPS variables as constants, commands as calls, and `source x` / `. x` as imports.

(function_definition
  name: (word) @name) @definition.function

(declaration_command
  "readonly"
  (variable_assignment name: (variable_name) @name)) @definition.constant

(program
  (variable_assignment
    name: (variable_name) @name
    (#match? @name "^[A-Z][A-Z0-9_]*$")) @definition.constant)

(command
  name: (command_name (word) @reference.call))

(command
  name: (command_name (word) @_source)
  argument: [(word) (string) (raw_string) (concatenation)] @import.module
  (#any-of? @_source "source" ".")) @import
