; Ruby tag query for qwen-context.
; Adapted from tree-sitter-ruby's queries/tags.scm (MIT, Max Brunsfeld and contributors); adds constants,
; constant references (a bare constant is a name: a class or a value) and `require`/`require_relative`/`load`
; imports (require_relative "x" as module "./x"). Methods of `class << self` belong to the enclosing class.

; --- definitions ---------------------------------------------------------------------------------------------

(method
  name: (_) @name) @definition.function

(singleton_method
  name: (_) @name) @definition.method

(class
  name: [(constant) @name (scope_resolution name: (_) @name)]) @definition.class

(module
  name: [(constant) @name (scope_resolution name: (_) @name)]) @definition.module

(assignment
  left: (constant) @name) @definition.constant

; --- references ----------------------------------------------------------------------------------------------

(call
  method: (identifier) @reference.call)

(superclass (constant) @reference.type)

(constant) @reference.name

; --- imports -------------------------------------------------------------------------------------------------

(call
  method: (identifier) @_require
  arguments: (argument_list . (string (string_content) @import.module))
  (#any-of? @_require "require" "load")) @import

((call
  method: (identifier) @_require
  arguments: (argument_list . (string (string_content) @import.module))
  (#eq? @_require "require_relative")) @import
  (#set! import.prefix "./"))
