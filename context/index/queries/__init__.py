"""Tag queries as data: one ``<language>-tags.scm`` per grammar, read by `context.index.parse` through
importlib.resources (this file makes the folder a package, so the queries ship inside the wheel)."""
