; C++ tag patterns, loaded after c-tags.scm (the C++ grammar extends the C one).
; Adapted from tree-sitter-cpp's queries/tags.scm (MIT, Max Brunsfeld and contributors), which has no calls;
; adds namespaces, member declarations, destructors, operators, aliases and qualified calls. As in C, functions
; are captured on their declarator. A definition written out of its class (`void Widget::draw()`) is named by
; the whole qualified identifier, which the parser splits into receiver and name.

; --- definitions ---------------------------------------------------------------------------------------------

(class_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name) @definition.module

(function_declarator
  declarator: [(field_identifier) (destructor_name) (operator_name)] @name) @definition.function

(function_declarator
  declarator: (qualified_identifier) @name) @definition.method

(alias_declaration
  name: (type_identifier) @name) @definition.type

; namespace-level constants (`constexpr double kPi = ...;`)
(declaration_list
  (declaration
    (type_qualifier)
    declarator: (init_declarator declarator: (identifier) @name)) @definition.constant)

; --- references ----------------------------------------------------------------------------------------------

(call_expression
  function: [
    (qualified_identifier name: (identifier) @reference.call)
    (template_function name: (identifier) @reference.call)
    (qualified_identifier name: (template_function name: (identifier) @reference.call))
    (field_expression field: (template_method name: (field_identifier) @reference.call))
  ])
