"""Ranking tests that can fail: on a generated repository of hundreds of files in four languages, the right
definitions come first, and small budgets keep them.

The repository is written by `write_repository` at test time (nothing committed): per language, domains of
modules, each a large file (a type with many members, many filler functions) so no whole file fits a small
budget; namesakes of the targets in folders nobody imports, so a guess by name alone picks wrong; and, per
candidate source of the ranking (`context.weights.SOURCE_WEIGHTS`), a scene where only that source can bring
the right definition. ``bench/mutation_check.py`` zeroes each source weight and reverses the fused order, and
checks that some test here fails for every such mutant.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from context.engine import Engine
from context.prompt import tokens
from context.prompt.candidates import Item, fim_items, query_items
from context.prompt.memo import PromptCaches
from context.prompt.reach import cursor_receiver

DOMAINS = ("billing", "orders", "shipping", "catalog", "accounts", "reports", "search", "audit")
MODULES_PER_DOMAIN = 10
FILLERS = 30
#: The place a right definition must reach in the fused ranking.
TOP = 10


def _filler_python(domain: str, module: int, count: int) -> str:
    return "".join(
        f"def {domain}_step_{module}_{i}(value, limit=10):\n"
        f'    """Step {i} of {domain} module {module}."""\n'
        f"    total = value + {i}\n"
        f"    return min(total, limit)\n\n\n"
        for i in range(count)
    )


def _python_module(domain: str, module: int) -> str:
    kind = f"{domain.title()}Unit{module}"
    methods = "".join(f"    def unit_{domain}_{module}_{m}(self, value):\n        return value * {m}\n\n" for m in range(8))
    return f'"""The {domain} module {module}."""\n\n\nclass {kind}:\n{methods}\n\n' + _filler_python(domain, module, FILLERS)


def _ts_module(domain: str, module: int) -> str:
    fillers = "".join(
        f"export function {domain}Part{module}x{i}(value: number): number {{\n  return value + {i};\n}}\n\n"
        for i in range(FILLERS)
    )
    return f"export class {domain.title()}Shape{module} {{\n  size = {module};\n}}\n\n{fillers}"


def _go_module(domain: str, module: int) -> str:
    fillers = "".join(
        f"func {domain.title()}Op{module}x{i}(value int) int {{\n\treturn value + {i}\n}}\n\n" for i in range(FILLERS)
    )
    return f"package {domain}\n\ntype {domain.title()}Thing{module} struct {{\n\tSize int\n}}\n\n{fillers}"


#: The scenes: path -> text. Each target is named in the test that looks for it.
SCENES: dict[str, str] = {
    # "used": a function called far from the cursor (out of the lexical window), in an imported module full of
    # other functions that come before it.
    "app/billing/ledger.py": _filler_python("ledger", 0, FILLERS)
    + 'def reconcile_ledger(entries, period):\n    """Match the entries of a period."""\n    return entries\n',
    "app/billing/close_month.py": "from app.billing import ledger\nfrom app.billing.unit_0 import BillingUnit0\n\n\n"
    "def close_month(entries):\n    ledger.reconcile_ledger(entries, 'month')\n"
    + "".join(f"    entries = entries + [{i}]\n" for i in range(40))
    + "    return entries\n\n\ndef summary(rows):\n    count = len(rows)\n    \n    return count\n",
    # "member": a type named in the buffer (through its module, so the file imports no type), far from the
    # cursor; its method comes only as a member.
    "app/orders/gateway.py": "class PaymentGateway:\n"
    + "    def settle_batch(self, batch):\n        return batch\n\n"
    + "".join(f"    def gateway_step_{i}(self):\n        return {i}\n\n" for i in range(3))
    + _filler_python("gateway", 0, FILLERS),
    "app/orders/checkout.py": "from app.orders import gateway\n\n\n"
    "def make_gateway():\n    return gateway.PaymentGateway.__new__(gateway.PaymentGateway)\n\n\n"
    + "".join(f"def checkout_filler_{i}(value):\n    return value\n\n\n" for i in range(12))
    + "def order_total(rows):\n    count = 0\n    \n    return count\n",
    # "receiver": a receiver typed before the cursor whose type the buffer never names, only its snake name.
    "app/shipping/order_store.py": "class OrderStore:\n"
    + "".join(f"    def store_step_{i}(self):\n        return {i}\n\n" for i in range(6))
    + "    def reserve_stock(self, sku, count):\n        return count\n\n"
    + _filler_python("store", 0, FILLERS),
    "app/shipping/dispatch.py": "from app.shipping import order_store as stores\n\n\n"
    "class Dispatcher:\n    def __init__(self, order_store):\n        self.order_store = order_store\n\n"
    "    def ship(self, sku):\n        count = 1\n        self.order_store.\n        return count\n",
    # "reach": the enclosing class's base, defined in another file, whose methods ``self`` reaches.
    "app/accounts/base_account.py": "class BaseAccount:\n"
    + "".join(f"    def account_step_{i}(self):\n        return {i}\n\n" for i in range(4))
    + "    def freeze_account(self, reason):\n        return reason\n\n"
    + _filler_python("account", 0, FILLERS),
    "app/accounts/premium.py": "from app.accounts import base_account\n\n\n"
    "class PremiumAccount(base_account.BaseAccount):\n    def upgrade(self):\n        level = 2\n        \n"
    "        return level\n",
    # "imported": an imported module's top-level definitions, none named in the buffer; a namesake module in
    # a folder nobody imports.
    "app/reports/textfmt.py": "def wrap_paragraph(text, width):\n    return text\n\n\n" + _filler_python("textfmt", 0, FILLERS),
    "legacy/reports/textfmt.py": "def wrap_paragraph(text, width, legacy=True):\n    return text\n\n\n"
    + _filler_python("legacy", 0, FILLERS),
    "app/reports/render.py": "import app.reports.textfmt as textfmt\n\n\n"
    "def render(rows):\n    out = []\n    \n    return out\n",
    # "lexical": words at the cursor match a definition two imports away that no name in the buffer reaches.
    "app/search/postal.py": _filler_python("postal", 0, FILLERS)
    + "def normalize_postal_code(raw_postal_code):\n    return raw_postal_code.strip()\n",
    "app/search/address.py": "from app.search import postal\n\n\ndef address_line(parts):\n    return parts\n",
    "app/search/lookup.py": "from app.search import address\n\n\n"
    "def lookup(query):\n    # normalize the postal code of the query before the lookup\n"
    "    raw_postal_code = query\n    \n    return raw_postal_code\n",
    # "recent": a recently edited file nothing here imports (the cursor's words match its other functions).
    "app/audit/trail.py": "def record_audit_event(kind):\n    return kind\n\n\n" + _filler_python("trail", 1, FILLERS),
    "app/audit/viewer.py": "def view(value, limit=10):\n    total = value\n    \n    return min(total, limit)\n",
    # "neighbour": the file that imports the current one (a reverse edge in the dependency graph).
    "app/catalog/settings.py": "DEFAULT_PAGE = 20\n\n\ndef page_size(value):\n    size = value\n    \n    return size\n",
    "app/catalog/loader.py": "from app.catalog import settings\n\n\n"
    "def load_catalog_settings(path):\n    return settings.page_size(path)\n\n\n" + _filler_python("loader", 0, FILLERS),
    # "receiver" through a module: an imported module typed before the cursor, its constant far down the file;
    # the import names two modules (resolved to the first) and a namesake module lies in a folder nobody imports.
    "app/catalog/pricing.py": _filler_python("pricing", 0, FILLERS) + 'DEFAULT_CURRENCY = "EUR"\n',
    "legacy/catalog/pricing.py": 'DEFAULT_CURRENCY = "USD"\n',
    "app/catalog/quote.py": "from app.catalog import settings, pricing\n\n\n"
    "def quote(amount):\n    size = settings.page_size(amount)\n    currency = pricing.\n    return size\n",
    # "receiver" in a reopened Ruby class: the adapter file reopens ``Shop::Adapter`` to define a subclass; the
    # base's methods are in the file that defines the class, beside other adapters that reopen it too.
    "lib/shop/adapter.rb": "module Shop\n  class Adapter\n"
    + "".join(f"    def adapter_step_{i}(env)\n      env\n    end\n\n" for i in range(4))
    + "    def save_response(env, status, body)\n      env\n    end\n\n"
    + "".join(f"    def adapter_late_{i}(env)\n      env\n    end\n\n" for i in range(FILLERS))
    + "  end\nend\n",
    **{
        f"lib/shop/adapter/{name}.rb": f"module Shop\n  class Adapter\n    class {name.title()} < Shop::Adapter\n"
        + "".join(f"      def {name}_step_{i}(env)\n        env\n      end\n\n" for i in range(FILLERS))
        + "    end\n  end\nend\n"
        for name in ("excon", "patron", "typhoeus")
    },
    "lib/shop/adapter/stub.rb": "module Shop\n  class Adapter\n    class Stub < Shop::Adapter\n"
    "      def call(env)\n        status = 200\n        \n        status\n      end\n    end\n  end\nend\n",
    # "query": a question naming a definition by a stem (``settling``) that symbol search finds and words miss.
    "app/reports/refunds.py": "def settle(refund):\n    return refund\n\n\n"
    + "".join(
        f"def refund_report_{i}(refunds, settle_mode='settle'):\n"
        f'    """Settle refunds, settle them again, settle all refunds: report {i}."""\n    return refunds\n\n\n'
        for i in range(20)
    ),
}


def write_repository(root: Path, seed: int = 7) -> None:
    """The generated repository: domains of large modules in Python, TypeScript and Go, namesakes, scenes."""
    rng = random.Random(seed)
    for domain in DOMAINS:
        for module in range(MODULES_PER_DOMAIN):
            files = {
                f"app/{domain}/unit_{module}.py": _python_module(domain, module),
                f"web/src/{domain}/shape{module}.ts": _ts_module(domain, module),
                f"svc/{domain}/thing{module}.go": _go_module(domain, module),
            }
            if rng.random() < 0.5:  # a namesake module in a folder nobody imports
                files[f"legacy/{domain}/unit_{module}.py"] = _python_module(domain, module)
            for path, text in files.items():
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(text, encoding="utf-8")
    for path, text in SCENES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    for folder in {p.parent for p in root.rglob("*.py")}:
        (folder / "__init__.py").touch()


@pytest.fixture(scope="module")
def ranked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("ranking") / "shop"
    write_repository(root)
    with Engine(root) as engine:
        engine.index()
        yield engine


def _cursor(engine: Engine, path: str, marker: str) -> tuple[int, int]:
    """The line holding ``marker`` (the first blank-ended line of a scene: where the user types) and its end."""
    lines = engine.text(path).split("\n")
    number = next(i for i, line in enumerate(lines) if line.rstrip() == marker.rstrip() and line.endswith(marker))
    return number, len(lines[number])


def _items(engine: Engine, path: str, marker: str, recent: tuple[str, ...] = (), budget: int = 1024) -> list[Item]:
    line, character = _cursor(engine, path, marker)
    lines = engine.text(path).split("\n")
    receiver = cursor_receiver(lines[line][:character])
    items, _ = fim_items(engine, PromptCaches(), path, lines, line, recent, budget, receiver)
    return items


def _position(items: list[Item], path: str, name: str) -> int:
    found = [i for i, item in enumerate(items) if item.definition.path == path and item.definition.name == name]
    assert found, f"{name} of {path} is not a candidate at all"
    return found[0]


def _context(engine: Engine, path: str, marker: str, budget: int, recent: tuple[str, ...] = ()) -> str:
    line, character = _cursor(engine, path, marker)
    text = engine.fim_prompt(path, line, character, budget=budget, recent=list(recent)).text
    return text[: text.rfind(tokens.FILE_SEP)]


def test_the_repository_is_realistic_in_size(ranked: Engine) -> None:
    files = ranked.files()
    languages = {ranked.language(p) for p in files}
    assert len(files) >= 300, len(files)
    assert {"python", "typescript", "go"} <= languages


def test_a_used_function_of_an_imported_module_ranks_first(ranked: Engine) -> None:
    items = _items(ranked, "app/billing/close_month.py", "    ")
    assert _position(items, "app/billing/ledger.py", "reconcile_ledger") < TOP
    assert "def reconcile_ledger(entries, period):" in _context(ranked, "app/billing/close_month.py", "    ", 1024)


def test_a_member_of_a_used_type_is_offered(ranked: Engine) -> None:
    items = _items(ranked, "app/orders/checkout.py", "    ")
    assert _position(items, "app/orders/gateway.py", "settle_batch") < TOP * 3
    assert "def settle_batch(self, batch):" in _context(ranked, "app/orders/checkout.py", "    ", 2048)


def test_the_receivers_type_at_the_cursor_leads(ranked: Engine) -> None:
    items = _items(ranked, "app/shipping/dispatch.py", "        self.order_store.")
    assert _position(items, "app/shipping/order_store.py", "reserve_stock") < TOP
    context = _context(ranked, "app/shipping/dispatch.py", "        self.order_store.", 1024)
    assert "def reserve_stock(self, sku, count):" in context


def test_the_enclosing_class_reaches_its_bases_members(ranked: Engine) -> None:
    items = _items(ranked, "app/accounts/premium.py", "        ")
    assert _position(items, "app/accounts/base_account.py", "freeze_account") < TOP
    assert "def freeze_account(self, reason):" in _context(ranked, "app/accounts/premium.py", "        ", 1024)


def test_a_module_typed_before_the_cursor_offers_its_members(ranked: Engine) -> None:
    items = _items(ranked, "app/catalog/quote.py", "    currency = pricing.")
    assert _position(items, "app/catalog/pricing.py", "DEFAULT_CURRENCY") < TOP
    context = _context(ranked, "app/catalog/quote.py", "    currency = pricing.", 1024)
    assert 'DEFAULT_CURRENCY = "EUR"' in context
    assert '"USD"' not in context


def test_a_reopened_ruby_class_reaches_the_methods_of_its_main_file(ranked: Engine) -> None:
    items = _items(ranked, "lib/shop/adapter/stub.rb", "        ")
    assert _position(items, "lib/shop/adapter.rb", "save_response") < TOP
    assert "def save_response(env, status, body)" in _context(ranked, "lib/shop/adapter/stub.rb", "        ", 1024)


def test_an_imported_module_beats_its_unimported_namesake(ranked: Engine) -> None:
    items = _items(ranked, "app/reports/render.py", "    ")
    assert _position(items, "app/reports/textfmt.py", "wrap_paragraph") < TOP
    context = _context(ranked, "app/reports/render.py", "    ", 1024)
    assert "def wrap_paragraph(text, width):" in context
    assert "legacy=True" not in context


def test_words_at_the_cursor_find_a_definition_two_imports_away(ranked: Engine) -> None:
    items = _items(ranked, "app/search/lookup.py", "    ")
    assert _position(items, "app/search/postal.py", "normalize_postal_code") < TOP * 2


def test_a_recently_edited_file_is_offered(ranked: Engine) -> None:
    recent = ("app/audit/trail.py",)
    items = _items(ranked, "app/audit/viewer.py", "    ", recent)
    assert _position(items, "app/audit/trail.py", "record_audit_event") < TOP


def test_the_file_that_imports_the_current_one_is_a_neighbour(ranked: Engine) -> None:
    items = _items(ranked, "app/catalog/settings.py", "    ")
    assert _position(items, "app/catalog/loader.py", "load_catalog_settings") < TOP * 2


def test_a_question_finds_the_definition_it_names_first(ranked: Engine) -> None:
    items = query_items(ranked, PromptCaches(), "who is settling", ())
    assert items[0].definition.name == "settle", [i.definition.name for i in items[:5]]


def test_the_fused_order_is_strongest_first(ranked: Engine) -> None:
    """The fused order is by score, strongest first."""
    items = _items(ranked, "app/billing/close_month.py", "    ")
    scores = [item.score for item in items]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[-1]


def test_preparing_a_just_opened_file_changes_no_prompt(ranked: Engine) -> None:
    """`Engine.prepare` (called by qwen-lsp after its first index, and for a file on ``didOpen``) only warms
    caches: every prompt after it, at the middle line it prepared for as well as elsewhere, equals the prompt of
    an engine that never prepared."""
    path = "app/billing/close_month.py"
    lines = ranked.text(path).split("\n")
    cursors = [(len(lines) // 2, 0), (5, 4), (len(lines) - 3, 2)]
    with Engine(ranked.root) as fresh:
        fresh.index()
        fresh.prepare()
        fresh.set_overlay(path, fresh.text(path))
        fresh.prepare(path, budget=2048, recent=("app/audit/trail.py",))
        for line, character in cursors:
            for budget in (1024, 2048, 8192):
                prepared = fresh.fim_prompt(path, line, character, budget=budget, recent=("app/audit/trail.py",))
                plain = ranked.fim_prompt(path, line, character, budget=budget, recent=("app/audit/trail.py",))
                assert prepared.text == plain.text
                assert [s.path for s in prepared.sections] == [s.path for s in plain.sections]
