"""Qualified names of definitions written outside their type, beyond what the golden snippets show."""

from __future__ import annotations

from context.index.parse import parse_source


def test_a_cpp_method_defined_out_of_class_over_two_lines_is_named_where_its_name_is() -> None:
    source = b"template <class T>\nvoid Outer<T>::Inner::\n    run(int x) {}\nint a::b::c() { return 0; }\n"

    run, c = parse_source("impl.cpp", source, "cpp").definitions

    assert (run.qualname, run.kind, run.parent, run.line, run.column) == (
        "Outer.Inner.run",
        "method",
        "Outer.Inner",
        2,
        4,
    )
    assert (c.qualname, c.line, c.column) == ("a.b.c", 3, 10)


def test_a_cpp_method_defined_inside_its_namespace_is_qualified_by_the_namespace_once() -> None:
    source = b"namespace geo {\nvoid Shape::draw() {}\nvoid geo::Shape::erase() {}\n}\n"

    names = [d.qualname for d in parse_source("shape.cpp", source, "cpp").definitions]

    assert names == ["geo", "geo.Shape.draw", "geo.Shape.erase"]


def test_names_invented_by_error_recovery_are_not_symbols() -> None:
    source = b"const int = 1;\nint ok(void) { return 0; }\n"  # `const int <MISSING identifier> = 1;`

    parsed = parse_source("recovered.c", source, "c")

    assert all(d.name for d in parsed.definitions)
    assert all(r.name for r in parsed.references)
    assert "ok" in [d.name for d in parsed.definitions]
