; Java tag query for qwen-context.
; Adapted from tree-sitter-java's queries/tags.scm (MIT, Ayman Nadeem and contributors); adds enums, records,
; annotation types, constructors, `static final` constants, type and field references, package and imports.

; --- definitions ---------------------------------------------------------------------------------------------

(class_declaration
  name: (identifier) @name) @definition.class

(record_declaration
  name: (identifier) @name) @definition.class

(interface_declaration
  name: (identifier) @name) @definition.interface

(annotation_type_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(method_declaration
  name: (identifier) @name) @definition.method

(constructor_declaration
  name: (identifier) @name) @definition.method

(field_declaration
  (modifiers "static" "final")
  declarator: (variable_declarator name: (identifier) @name)) @definition.constant

; --- references ----------------------------------------------------------------------------------------------

(method_invocation
  name: (identifier) @reference.call)

(object_creation_expression
  type: [
    (type_identifier) @reference.call
    (generic_type (type_identifier) @reference.call)
    (scoped_type_identifier (type_identifier) @reference.call .)
  ])

(type_identifier) @reference.type

(field_access
  field: (identifier) @reference.attribute)

; --- package and imports -------------------------------------------------------------------------------------

(package_declaration
  [(scoped_identifier) (identifier)] @package)

(import_declaration
  [(scoped_identifier) (identifier)] @import.module) @import

(import_declaration
  [(scoped_identifier) (identifier)] @import.module
  (asterisk) @import.name) @import
