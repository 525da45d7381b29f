; Rust tag query for qwen-context.
; Adapted from tree-sitter-rust's queries/tags.scm (MIT, Maxim Sokolov and contributors). `impl` blocks are
; scopes (@scope) so their functions become `Type.method`; structs, enums, traits, aliases and constants get
; their own kinds; `use` and `mod x;` are imports (`mod x;` as module "self::x").

; --- definitions ---------------------------------------------------------------------------------------------

(function_item
  name: (identifier) @name) @definition.function

(function_signature_item
  name: (identifier) @name) @definition.function

(struct_item
  name: (type_identifier) @name) @definition.struct

(union_item
  name: (type_identifier) @name) @definition.struct

(enum_item
  name: (type_identifier) @name) @definition.enum

(trait_item
  name: (type_identifier) @name) @definition.trait

(type_item
  name: (type_identifier) @name) @definition.type

(const_item
  name: (identifier) @name) @definition.constant

(static_item
  name: (identifier) @name) @definition.constant

(mod_item
  name: (identifier) @name
  body: (declaration_list)) @definition.module

(macro_definition
  name: (identifier) @name) @definition.function

(impl_item
  type: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (scoped_type_identifier name: (type_identifier) @name)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
  ]) @scope

; --- references ----------------------------------------------------------------------------------------------

(call_expression
  function: [
    (identifier) @reference.call
    (field_expression field: (field_identifier) @reference.call)
    (scoped_identifier name: (identifier) @reference.call)
    (generic_function function: (identifier) @reference.call)
    (generic_function function: (scoped_identifier name: (identifier) @reference.call))
    (generic_function function: (field_expression field: (field_identifier) @reference.call))
  ])

(macro_invocation
  macro: [
    (identifier) @reference.call
    (scoped_identifier name: (identifier) @reference.call)
  ])

(type_identifier) @reference.type

(field_expression
  field: (field_identifier) @reference.attribute)

; --- imports -------------------------------------------------------------------------------------------------

(use_declaration
  argument: [(scoped_identifier) (identifier) (crate) (self) (super)] @import.module) @import

(use_declaration
  argument: (use_as_clause path: (_) @import.module)) @import

(use_declaration
  argument: (scoped_use_list
    path: (_) @import.module
    list: (use_list [
      (identifier) @import.name
      (scoped_identifier) @import.name
      (self) @import.name
      (use_as_clause path: (_) @import.name)
      (scoped_use_list path: (_) @import.name)
      (use_wildcard) @import.name
    ]))) @import

(use_declaration
  argument: (use_wildcard (_) @import.module "*" @import.name)) @import

((mod_item
  name: (identifier) @import.module
  !body) @import
  (#set! import.prefix "self::"))
