; PHP tag query for qwen-context.
; Adapted from tree-sitter-php's queries/tags.scm (MIT, Josh Vera and contributors); adds traits, enums,
; constants, type references, the namespace and `use`/`require`/`include` imports. `use A\B\{C, D}` gives
; module `A\B` with names C, D; `require __DIR__ . '/x.php'` gives module `./x.php`.

; --- definitions ---------------------------------------------------------------------------------------------

(class_declaration
  name: (name) @name) @definition.class

(interface_declaration
  name: (name) @name) @definition.interface

(trait_declaration
  name: (name) @name) @definition.trait

(enum_declaration
  name: (name) @name) @definition.enum

(function_definition
  name: (name) @name) @definition.function

(method_declaration
  name: (name) @name) @definition.method

(const_declaration
  (const_element (name) @name)) @definition.constant

; --- references ----------------------------------------------------------------------------------------------

(function_call_expression
  function: [
    (name) @reference.call
    (qualified_name (name) @reference.call .)
  ])

(member_call_expression
  name: (name) @reference.call)

(nullsafe_member_call_expression
  name: (name) @reference.call)

(scoped_call_expression
  name: (name) @reference.call)

(object_creation_expression
  [(name) @reference.call (qualified_name (name) @reference.call .)])

(named_type [(name) @reference.type (qualified_name (name) @reference.type .)])

(base_clause [(name) @reference.type (qualified_name (name) @reference.type .)])

(class_interface_clause [(name) @reference.type (qualified_name (name) @reference.type .)])

(scoped_call_expression
  scope: [(name) @reference.type (qualified_name (name) @reference.type .)])

(member_access_expression
  name: (name) @reference.attribute)

; --- package and imports -------------------------------------------------------------------------------------

(namespace_definition
  name: (namespace_name) @package)

(namespace_use_declaration
  (namespace_use_clause . [(qualified_name) (name)] @import.module)) @import

(namespace_use_declaration
  (namespace_name) @import.module
  body: (namespace_use_group
    (namespace_use_clause . [(name) (qualified_name)] @import.name))) @import

(require_expression
  [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)]) @import

((require_expression
  (binary_expression
    left: (name) @_dir
    right: [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)])) @import
  (#eq? @_dir "__DIR__")
  (#set! import.prefix "."))

(require_once_expression
  [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)]) @import

((require_once_expression
  (binary_expression
    left: (name) @_dir
    right: [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)])) @import
  (#eq? @_dir "__DIR__")
  (#set! import.prefix "."))

(include_expression
  [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)]) @import

((include_expression
  (binary_expression
    left: (name) @_dir
    right: [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)])) @import
  (#eq? @_dir "__DIR__")
  (#set! import.prefix "."))

(include_once_expression
  [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)]) @import

((include_once_expression
  (binary_expression
    left: (name) @_dir
    right: [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)])) @import
  (#eq? @_dir "__DIR__")
  (#set! import.prefix "."))
