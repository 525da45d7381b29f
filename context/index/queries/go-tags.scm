; Go tag query for qwen-context.
; Adapted from tree-sitter-go's queries/tags.scm (MIT, Max Brunsfeld and contributors); methods are qualified by
; their receiver type (@receiver), structs/interfaces/constants/aliases get their own kinds, plus imports.
; A declaration holding a single spec is captured whole (so its doc comment and `type`/`const` keyword belong
; to it); specs inside a parenthesised group are captured one by one.

; --- definitions ---------------------------------------------------------------------------------------------

(function_declaration
  name: (identifier) @name) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @receiver
        (pointer_type (type_identifier) @receiver)
        (generic_type type: (type_identifier) @receiver)
        (pointer_type (generic_type type: (type_identifier) @receiver))
      ]))
  name: (field_identifier) @name) @definition.method

(type_declaration .
  (type_spec name: (type_identifier) @name type: (struct_type (field_declaration_list) @body)) .) @definition.struct
(type_spec
  name: (type_identifier) @name type: (struct_type (field_declaration_list) @body)) @definition.struct

(type_declaration .
  (type_spec name: (type_identifier) @name type: (interface_type "{" @body)) .) @definition.interface
(type_spec
  name: (type_identifier) @name type: (interface_type "{" @body)) @definition.interface

(type_declaration .
  (type_spec name: (type_identifier) @name) .) @definition.type
(type_spec
  name: (type_identifier) @name) @definition.type

(type_declaration .
  (type_alias name: (type_identifier) @name) .) @definition.type
(type_alias
  name: (type_identifier) @name) @definition.type

(method_elem
  name: (field_identifier) @name) @definition.method

(source_file
  (const_declaration .
    (const_spec name: (identifier) @name) .) @definition.constant)
(source_file
  (const_declaration
    (const_spec name: (identifier) @name) @definition.constant))

; --- references ----------------------------------------------------------------------------------------------

(call_expression
  function: [
    (identifier) @reference.call
    (parenthesized_expression (identifier) @reference.call)
    (selector_expression field: (field_identifier) @reference.call)
    (parenthesized_expression (selector_expression field: (field_identifier) @reference.call))
  ])

(type_identifier) @reference.type

(selector_expression
  field: (field_identifier) @reference.attribute)

; --- package and imports -------------------------------------------------------------------------------------

(package_clause
  (package_identifier) @package)

(import_spec
  path: (_) @import.module) @import
