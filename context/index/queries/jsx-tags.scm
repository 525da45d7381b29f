; JSX component uses, for JavaScript (.jsx) and TSX; written for qwen-context against the tree-sitter-javascript
; and tree-sitter-typescript (tsx) grammars (MIT). A component element is a call of the component; lower-case
; intrinsic elements (<div>) are not references.

(jsx_opening_element
  name: (identifier) @reference.call
  (#match? @reference.call "^[A-Z]"))

(jsx_opening_element
  name: (member_expression property: (property_identifier) @reference.call))

(jsx_self_closing_element
  name: (identifier) @reference.call
  (#match? @reference.call "^[A-Z]"))

(jsx_self_closing_element
  name: (member_expression property: (property_identifier) @reference.call))
