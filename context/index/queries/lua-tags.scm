; Lua tag query for qwen-context.
; Adapted from tree-sitter-lua's queries/tags.scm (MIT, Munif Tanjim and contributors): functions (`M.f` is
; qualified by its table, `M:f` is a method of it), local function values, calls, field uses and `require`.

; --- definitions ---------------------------------------------------------------------------------------------

(function_declaration
  name: (identifier) @name) @definition.function

(function_declaration
  name: (dot_index_expression
    table: (_) @receiver
    field: (identifier) @name)) @definition.function

(function_declaration
  name: (method_index_expression
    table: (_) @receiver
    method: (identifier) @name)) @definition.method

(variable_declaration
  (assignment_statement
    (variable_list . name: (identifier) @name)
    (expression_list . value: (function_definition body: (_)? @body)))) @definition.function

; --- references ----------------------------------------------------------------------------------------------

(function_call
  name: [
    (identifier) @reference.call
    (dot_index_expression field: (identifier) @reference.call)
    (method_index_expression method: (identifier) @reference.call)
  ])

(dot_index_expression
  field: (identifier) @reference.attribute)

; --- imports -------------------------------------------------------------------------------------------------

(function_call
  name: (identifier) @_require
  arguments: (arguments . (string content: (string_content) @import.module))
  (#eq? @_require "require")) @import
