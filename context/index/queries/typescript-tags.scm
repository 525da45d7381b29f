; TypeScript tag patterns (also used for TSX), loaded after ecmascript-tags.scm.
; Adapted from tree-sitter-typescript's queries/tags.scm (MIT), which has definitions only; extended with type
; references, enums, type aliases, namespaces and `import x = require()`.

; --- definitions ---------------------------------------------------------------------------------------------

(abstract_class_declaration
  name: (type_identifier) @name) @definition.class

(interface_declaration
  name: (type_identifier) @name) @definition.interface

(type_alias_declaration
  name: (type_identifier) @name) @definition.type

(enum_declaration
  name: (identifier) @name) @definition.enum

(internal_module
  name: [(identifier) (nested_identifier)] @name) @definition.module

(module
  name: (identifier) @name) @definition.module

(function_signature
  name: (identifier) @name) @definition.function

(interface_body
  (method_signature
    name: [(property_identifier) (private_property_identifier)] @name) @definition.method)

(type_alias_declaration
  value: (object_type
    (method_signature
      name: [(property_identifier) (private_property_identifier)] @name) @definition.method))

(abstract_method_signature
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)]) @definition.function

; --- references ----------------------------------------------------------------------------------------------

(type_identifier) @reference.type

(extends_clause value: (identifier) @reference.type)

(extends_clause value: (member_expression property: (property_identifier) @reference.type))

(nested_type_identifier name: (type_identifier) @reference.type)

; --- imports -------------------------------------------------------------------------------------------------

(import_statement
  (import_require_clause
    (identifier) @import.name
    source: (string (string_fragment) @import.module))) @import
