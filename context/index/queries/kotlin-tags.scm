; Kotlin tag query for qwen-context, written against tree-sitter-kotlin 1.x's grammar (MIT): classes,
; interfaces, enums, objects, functions, type aliases, `const val`s, calls, type and member references,
; package and imports (`import a.b.*` gives module `a.b` with name `*`).

; --- definitions ---------------------------------------------------------------------------------------------

(class_declaration
  "class"
  name: (identifier) @name
  [(class_body) (enum_class_body)]? @body) @definition.class

(class_declaration
  "interface"
  name: (identifier) @name
  (class_body)? @body) @definition.interface

(class_declaration
  name: (identifier) @name
  (enum_class_body) @body) @definition.enum

(object_declaration
  name: (identifier) @name
  (class_body)? @body) @definition.class

(function_declaration
  name: (identifier) @name
  (function_body)? @body) @definition.function

(type_alias
  type: (identifier) @name) @definition.type

(property_declaration
  (modifiers (property_modifier) @_const)
  (variable_declaration (identifier) @name)
  (#eq? @_const "const")) @definition.constant

; --- references ----------------------------------------------------------------------------------------------

(call_expression
  [
    (identifier) @reference.call
    (navigation_expression (identifier) @reference.call .)
  ])

(user_type (identifier) @reference.type)

(navigation_expression (_) (identifier) @reference.attribute .)

; --- package and imports -------------------------------------------------------------------------------------

(package_header
  (qualified_identifier) @package)

(import
  (qualified_identifier) @import.module) @import

(import
  (qualified_identifier) @import.module
  "*" @import.name) @import
