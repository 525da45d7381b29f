; Python tag query for qwen-context.
; Adapted from tree-sitter-python's queries/tags.scm (MIT, Max Brunsfeld and contributors), extended with
; module constants, type aliases, type and attribute references and imports.

; --- definitions ---------------------------------------------------------------------------------------------

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

; module-level ALL_CAPS assignments, annotated or not
(module
  (expression_statement
    (assignment
      left: (identifier) @name
      (#match? @name "^_*[A-Z][A-Z0-9_]*$"))) @definition.constant)

(type_alias_statement
  left: (type (identifier) @name)) @definition.type

; --- references ----------------------------------------------------------------------------------------------

(call
  function: [
    (identifier) @reference.call
    (attribute attribute: (identifier) @reference.call)
  ])

(attribute
  attribute: (identifier) @reference.attribute)

(type (identifier) @reference.type)

(generic_type (identifier) @reference.type)

(type (binary_operator [left: (identifier) @reference.type right: (identifier) @reference.type]))

(class_definition
  superclasses: (argument_list [
    (identifier) @reference.type
    (attribute attribute: (identifier) @reference.type)
  ]))

; --- imports -------------------------------------------------------------------------------------------------

(import_statement
  name: [
    (dotted_name) @import.module
    (aliased_import name: (dotted_name) @import.module)
  ]) @import

(import_from_statement
  module_name: (_) @import.module
  name: [
    (dotted_name) @import.name
    (aliased_import name: (dotted_name) @import.name)
  ]) @import

(import_from_statement
  module_name: (_) @import.module
  (wildcard_import) @import.name) @import
