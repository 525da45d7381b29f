"""The index stage: scan the tree, parse with tree-sitter, store symbols in SQLite, resolve imports, build the file graph, watch for changes."""
