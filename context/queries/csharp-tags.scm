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
    (identifier) @name
    (member_access_expression name: (identifier) @name)
    (generic_name (identifier) @name)
    (member_access_expression name: (generic_name (identifier) @name))
  ]) @reference.call

(object_creation_expression
  type: [
    (identifier) @name
    (generic_name (identifier) @name)
    (qualified_name name: (identifier) @name)
  ]) @reference.call

(_ type: (identifier) @name) @reference.type

(_ returns: (identifier) @name) @reference.type

(generic_name (identifier) @name) @reference.type

(type_argument_list (identifier) @name) @reference.type

(base_list [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)]) @reference.type

(member_access_expression
  name: (identifier) @name) @reference.attribute

; --- package and imports -------------------------------------------------------------------------------------

(namespace_declaration
  name: (_) @package)

(file_scoped_namespace_declaration
  name: (_) @package)

; `using Alias = A.B;` imports A.B: the module is the last name of the directive
(using_directive
  [(identifier) (qualified_name)] @import.module .) @import
