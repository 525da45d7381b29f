; C# tag query for qwen-context.
; Adapted from tree-sitter-c-sharp's queries/tags.scm (MIT, Max Brunsfeld and contributors); adds structs,
; records, enums, delegates, properties as fields, `const` fields, type references, namespace and `using`s.
; The namespace is the file's package, not a definition, so qualified names start at the type (as in Java).

; --- definitions ---------------------------------------------------------------------------------------------

(class_declaration
  name: (identifier) @name) @definition.class

(record_declaration
  name: (identifier) @name) @definition.class

(struct_declaration
  name: (identifier) @name) @definition.struct

(interface_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(delegate_declaration
  name: (identifier) @name) @definition.type

(method_declaration
  name: (identifier) @name) @definition.method

(constructor_declaration
  name: (identifier) @name) @definition.method

(local_function_statement
  name: (identifier) @name) @definition.function

(property_declaration
  name: (identifier) @name
  accessors: (_)? @body) @definition.field

(field_declaration
  (modifier) @_const
  (variable_declaration (variable_declarator name: (identifier) @name))
  (#eq? @_const "const")) @definition.constant

; --- references ----------------------------------------------------------------------------------------------

(invocation_expression
  function: [
    (identifier) @reference.call
    (member_access_expression name: (identifier) @reference.call)
    (generic_name (identifier) @reference.call)
    (member_access_expression name: (generic_name (identifier) @reference.call))
  ])

(object_creation_expression
  type: [
    (identifier) @reference.call
    (generic_name (identifier) @reference.call)
    (qualified_name name: (identifier) @reference.call)
  ])

(_ type: (identifier) @reference.type)

(_ returns: (identifier) @reference.type)

(generic_name (identifier) @reference.type)

(type_argument_list (identifier) @reference.type)

(base_list [(identifier) @reference.type (generic_name (identifier) @reference.type) (qualified_name name: (identifier) @reference.type)])

(member_access_expression
  name: (identifier) @reference.attribute)

; --- package and imports -------------------------------------------------------------------------------------

(namespace_declaration
  name: (_) @package)

(file_scoped_namespace_declaration
  name: (_) @package)

; `using Alias = A.B;` imports A.B: the module is the last name of the directive
(using_directive
  [(identifier) (qualified_name)] @import.module .) @import
