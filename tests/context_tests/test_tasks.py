"""The coding tasks: their wording for both servers, the definition they work on, where tests go, and the
code taken back out of a model's reply."""

from __future__ import annotations

import pytest

from context.errors import InvalidPosition
from context.index.parse import parse_source
from context.serve import tasks
from context.serve.tasks import Target, Task

SOURCE = '''\
class Cart:
    """Items to buy."""

    def total(self) -> float:
        return sum(self.prices)


def checkout(cart: Cart) -> float:
    return cart.total()
'''
DEFINITIONS = parse_source("shop/cart.py", SOURCE.encode(), "python").definitions


def test_the_tests_task_works_on_the_method_and_the_docstring_task_on_the_innermost_definition() -> None:
    inside_total = 4
    tested = tasks.definition_around(DEFINITIONS, inside_total, Task.TESTS)
    documented = tasks.definition_around(DEFINITIONS, inside_total, Task.DOCSTRING)
    assert tested is not None and documented is not None
    assert (tested.qualname, documented.qualname) == ("Cart.total", "Cart.total")
    class_docstring = 1
    assert tasks.definition_around(DEFINITIONS, class_docstring, Task.TESTS) is None
    documented_class = tasks.definition_around(DEFINITIONS, class_docstring, Task.DOCSTRING)
    assert documented_class is not None and documented_class.qualname == "Cart"


def test_a_task_on_quoted_code_quotes_it_and_asks_for_one_fenced_block() -> None:
    target = Target("shop/cart.py", "def checkout(cart: Cart) -> float:\n    return cart.total()", "checkout", 7, 8)
    asked = tasks.task_prompt(Task.DOCSTRING, target)
    assert "`checkout` in `shop/cart.py`" in asked
    assert f"```python\n{target.code}\n```" in asked
    assert "one fenced code block" in asked


def test_a_task_without_code_names_the_file_and_symbol_and_asks_for_no_reply_format() -> None:
    asked = tasks.task_prompt(Task.TESTS, Target("shop/cart.py", name="checkout"), "tests/test_cart.py")
    assert asked.startswith("Write unit tests for `checkout` in `shop/cart.py`")
    assert "for a test file at `tests/test_cart.py`" in asked
    assert "```" not in asked and "fenced" not in asked


def test_explaining_and_writing_tests_share_one_wording_for_editors_and_agents() -> None:
    quoted = Target("shop/cart.py", "return cart.total()", "checkout")
    named = Target("shop/cart.py", name="checkout")
    for task in (Task.EXPLAIN, Task.TESTS):
        agent = tasks.task_prompt(task, named)
        assert tasks.task_prompt(task, quoted).startswith(agent.removesuffix("."))


def test_a_fix_task_lists_each_problem_and_a_refactoring_starts_with_its_instruction() -> None:
    target = Target("shop/cart.py", "return cart.total()")
    fix = tasks.task_prompt(Task.FIX, target, tasks.problems_detail(["Name 'cart' is not defined", "Unused"]))
    assert "- Name 'cart' is not defined\n- Unused" in fix
    refactor = tasks.task_prompt(Task.REFACTOR, target, tasks.REFACTOR_CHOICES[0])
    assert refactor.startswith("Simplify this code without changing its behaviour. The code is this code from")


def test_the_query_of_a_target_is_its_name_and_code_or_else_its_path() -> None:
    assert Target("a.py", "x = 1", "f").query == "f\nx = 1"
    assert Target("a.py").query == "a.py"


def test_the_code_of_a_reply_is_its_block_in_the_files_language_else_its_first_block_else_all_of_it() -> None:
    reply = "Run this:\n```sh\npip install x\n```\nThen:\n```py\ndef f():\n    return 1\n```\n"
    assert tasks.code_from_reply(reply, "python") == "def f():\n    return 1\n"
    assert tasks.code_from_reply(reply, "go") == "pip install x\n"
    assert tasks.code_from_reply("\nreturn 1\n\n", "python") == "return 1\n"


def test_rewritten_code_gets_back_the_indentation_the_model_dropped() -> None:
    original = "    def total(self):\n        return 1"
    assert tasks.reindent("def total(self):\n    return 2\n", original) == "    def total(self):\n        return 2\n"
    assert tasks.reindent("    x = 1\n", "    y = 2") == "    x = 1\n"


@pytest.mark.parametrize(("files", "path", "expected"), [
    (["app/models.py", "tests/test_app.py"], "app/models.py", "tests/test_models.py"),
    (["app/models.py", "test/x.py"], "app/models.py", "test/test_models.py"),
    (["app/models.py"], "app/models.py", "app/test_models.py"),
    ([], "pkg/server.go", "pkg/server_test.go"),
    ([], "src/lib.rs", "src/lib.rs"),
    ([], "web/cart.ts", "web/cart.test.ts"),
    ([], "core/src/main/java/shop/Cart.java", "core/src/test/java/shop/CartTest.java"),
])
def test_generated_tests_go_where_the_projects_layout_keeps_tests(files: list[str], path: str,
                                                                  expected: str) -> None:
    assert tasks.test_path_for(files, path) == expected


def test_the_query_for_a_cursor_is_the_lines_around_it() -> None:
    text = "".join(f"line {n}\n" for n in range(40))
    above, below = tasks.CURSOR_WINDOW
    query = tasks.cursor_query(text, 30).split("\n")
    assert query[0] == f"line {30 - above}" and query[-1] == f"line {30 + below}"
    assert tasks.cursor_query("only\n", 0) == "only"


def test_a_cursor_past_the_end_of_the_file_is_an_invalid_position() -> None:
    with pytest.raises(InvalidPosition, match="Line 3 is past the end of the file, which has 2 lines"):
        tasks.cursor_query("a\nb\n", 2)


def test_a_docstring_task_takes_the_whole_definition_and_an_explanation_only_the_selected_lines() -> None:
    documented = tasks.target_at(Task.DOCSTRING, "shop/cart.py", SOURCE, DEFINITIONS, 4, 4)
    assert (documented.first, documented.last, documented.name) == (3, 4, "Cart.total")
    assert documented.code == "    def total(self) -> float:\n        return sum(self.prices)"
    explained = tasks.target_at(Task.EXPLAIN, "shop/cart.py", SOURCE, DEFINITIONS, 4, 4)
    assert (explained.first, explained.last, explained.code) == (4, 4, "        return sum(self.prices)")
    at_cursor = tasks.target_at(Task.EXPLAIN, "shop/cart.py", SOURCE, DEFINITIONS, 4, 4, cursor=True)
    assert (at_cursor.first, at_cursor.last) == (3, 4)
