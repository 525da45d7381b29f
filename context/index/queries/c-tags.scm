; C tag query for qwen-context (also loaded for C++, before cpp-tags.scm).
; Adapted from tree-sitter-c's queries/tags.scm (MIT, Max Brunsfeld and contributors), which has no calls;
; adds prototypes, unions, `#define`s, `const` globals, calls, type and field references and `#include`s.
; `#include "x.h"` gives module `x.h`, `#include <x.h>` gives module `<x.h>`.

; --- definitions ---------------------------------------------------------------------------------------------

; Functions are captured on their declarator, whatever pointers wrap it; the parser widens the definition to
; the enclosing function_definition / declaration / field_declaration (and drops function-typed parameters).
(function_declarator
  declarator: (identifier) @name) @definition.function

(struct_specifier
  name: (type_identifier) @name
  body: (_)) @definition.struct

(union_specifier
  name: (type_identifier) @name
  body: (_)) @definition.struct

(enum_specifier
  name: (type_identifier) @name
  body: (_)) @definition.enum

(type_definition
  declarator: [
    (type_identifier) @name
    (pointer_declarator declarator: (type_identifier) @name)
  ]) @definition.type

(preproc_def
  name: (identifier) @name) @definition.constant

(preproc_function_def
  name: (identifier) @name
  value: (_) @body) @definition.function

(translation_unit
  (declaration
    (type_qualifier)
    declarator: (init_declarator
      declarator: [
        (identifier) @name
        (pointer_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (pointer_declarator declarator: (identifier) @name))
      ])) @definition.constant)

; --- references ----------------------------------------------------------------------------------------------

(call_expression
  function: [
    (identifier) @reference.call
    (field_expression field: (field_identifier) @reference.call)
  ])

(type_identifier) @reference.type

(field_expression
  field: (field_identifier) @reference.attribute)

; --- imports -------------------------------------------------------------------------------------------------

(preproc_include
  path: (string_literal (string_content) @import.module)) @import

(preproc_include
  path: (system_lib_string) @import.module) @import
