; Tag query shared by JavaScript, TypeScript and TSX (loaded before the language's own file).
; Adapted from tree-sitter-javascript's queries/tags.scm (MIT, Max Brunsfeld and contributors): definitions,
; calls and `new` expressions; extended with module constants, attribute uses and imports. Uses only node
; types common to the JavaScript and TypeScript grammars.

; --- definitions ---------------------------------------------------------------------------------------------

(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

(class_declaration
  name: (_) @name) @definition.class

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

; const f = () => {} / const f = function () {} / let, var
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)])) @definition.function

(variable_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)])) @definition.function

; CommonJS style: exports.f = function () {}, Foo.prototype.m = function () {}
(expression_statement
  (assignment_expression
    left: (member_expression
      object: (identifier) @receiver
      property: (property_identifier) @name)
    right: [(function_expression body: (_) @body) (arrow_function body: (_) @body)])) @definition.function

(expression_statement
  (assignment_expression
    left: (member_expression
      object: (member_expression
        object: (identifier) @receiver
        property: (property_identifier) @_prototype)
      property: (property_identifier) @name)
    right: [(function_expression body: (_) @body) (arrow_function body: (_) @body)])
  (#eq? @_prototype "prototype")) @definition.method

; top-level const (exported or not)
(program
  (lexical_declaration
    "const"
    (variable_declarator name: (identifier) @name)) @definition.constant)

(program
  (export_statement
    declaration: (lexical_declaration
      "const"
      (variable_declarator name: (identifier) @name)) @definition.constant))

; --- references ----------------------------------------------------------------------------------------------

(call_expression
  function: [
    (identifier) @reference.call
    (member_expression property: [(property_identifier) (private_property_identifier)] @reference.call)
  ])

(new_expression
  constructor: [
    (identifier) @reference.type
    (member_expression property: (property_identifier) @reference.type)
  ])

(member_expression
  property: [(property_identifier) (private_property_identifier)] @reference.attribute)

; --- imports -------------------------------------------------------------------------------------------------

(import_statement
  source: (string (string_fragment) @import.module)) @import

(import_statement
  (import_clause (identifier) @import.name)
  source: (string (string_fragment) @import.module)) @import

(import_statement
  (import_clause (named_imports (import_specifier name: (_) @import.name)))
  source: (string (string_fragment) @import.module)) @import

(export_statement
  source: (string (string_fragment) @import.module)) @import

(export_statement
  (export_clause (export_specifier name: (_) @import.name))
  source: (string (string_fragment) @import.module)) @import

; require("x") and dynamic import("x")
(call_expression
  function: (identifier) @_require
  arguments: (arguments . (string (string_fragment) @import.module))
  (#eq? @_require "require")) @import

(call_expression
  function: (import)
  arguments: (arguments . (string (string_fragment) @import.module))) @import
