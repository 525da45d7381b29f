; JavaScript-only tag patterns, loaded after ecmascript-tags.scm (and before jsx-tags.scm).
; Written for qwen-context against tree-sitter-javascript's grammar (MIT).

; class fields holding functions: handleClick = () => {}
(field_definition
  property: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)]) @definition.function

(class_heritage (identifier) @reference.type)

(class_heritage (member_expression property: (property_identifier) @reference.type))
