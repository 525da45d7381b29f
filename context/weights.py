"""Every ranking weight and packing limit of the engine, in one place: change them here, never inline.

Grouped by the stage that reads them: the file graph and symbol search (`context.index`), go-to-definition,
the candidate ranking shared by FIM and chat prompts (`context.prompt.rank`, `context.prompt.candidates`), the
packer and the current file's share of a FIM prompt (`context.prompt.pack`, `context.prompt.fim`), and the
repository map (`context.prompt.repomap`). Each constant says in one line why it has its value. The module
imports nothing, so any stage can read it without pulling another in.
"""

from __future__ import annotations

# --- the file graph (context.index.graph) ------------------------------------------------------------------

#: Weight of an import edge (split over the files of an imported package folder): an import is the surest link.
IMPORT_WEIGHT = 1.0
#: Base weight of a reference to a name defined in exactly one other file: a likely link, less sure than an import.
REFERENCE_WEIGHT = 0.5
#: A name defined in more files than this links nothing (``get``, ``run``, ``__init__``): it says nothing about
#: which file is meant.
MAX_DEFINERS = 5
#: Multiplier for distinctive names (long camelCase or snake_case identifiers): they rarely collide by chance.
DISTINCTIVE_NAME_BOOST = 2.0
#: Multiplier for private names (leading underscore): usually local helpers, not a link between files.
PRIVATE_NAME_FACTOR = 0.2
#: Names at least this long with a hump or underscore count as distinctive.
DISTINCTIVE_LENGTH = 8

# --- symbol search and go-to-definition (context.index.snapshot, context.index.goto) -----------------------

#: Rank of each definition kind when several symbols match equally well (lower first): what people look for
#: by name (types, then functions) before members and values.
KIND_IMPORTANCE: dict[str, int] = {
    "class": 0, "struct": 0, "interface": 0, "trait": 0, "enum": 0, "type": 1,
    "function": 1, "method": 2, "constant": 3, "module": 4, "field": 5,
}
#: Rank of a kind missing from `KIND_IMPORTANCE`: after every known kind.
UNKNOWN_KIND_IMPORTANCE = 9
#: Go-to-definition prefers a namesake by where it lives, nearest first: written in the same file (the name is
#: local), in a file the current one imports (the name was imported to be used), in the same folder (a
#: package), in the same language family, and last in another language (a JavaScript name is never a Go one).
PLACE_SAME_FILE, PLACE_IMPORTED, PLACE_SAME_FOLDER, PLACE_SAME_FAMILY, PLACE_OTHER_FAMILY = range(5)

# --- candidate ranking for prompts (context.prompt.rank, context.prompt.candidates) ------------------------

#: Reciprocal-rank fusion constant (Cormack et al.; Tabby uses the same 60): damps the head of each list.
RRF_K = 60.0
#: How much each candidate source counts in the fusion.
SOURCE_WEIGHTS: dict[str, float] = {
    "used": 1.0,  # a definition named by an identifier in the buffer, resolved through imports
    "member": 0.6,  # a member of a type the buffer uses
    "receiver": 1.5,  # a member of the type of the receiver typed before the cursor (``self.io.``)
    "reach": 1.0,  # a member of the enclosing type (and bases) or of the inferred type of a variable near the cursor
    "imported": 0.8,  # a top-level definition of a file the current file imports or depends on
    "lexical": 0.5,  # BM25 of symbol-sized chunks against the code around the cursor
    "recent": 0.7,  # a top-level definition of a recently edited file
    "neighbour": 0.35,  # a definition in a file near the current one in the file graph
    "query": 1.0,  # a definition matching the words of a chat query
}
#: Identifier weight by distance (in lines) from the cursor: (max distance, weight), nearest first.
#: Buckets, not a smooth decay, so weights (and hence the selection) do not change while the user types.
PROXIMITY_BUCKETS: tuple[tuple[int, float], ...] = ((6, 4.0), (25, 3.0), (80, 2.0))
#: Weight of an identifier farther from the cursor than every bucket: still used, least likely next.
FAR_WEIGHT = 1.0
#: Extra weight of a name the current file imports explicitly (``from m import name``): it was imported to be
#: used.
IMPORTED_NAME_BONUS = 1.5
#: Extra weight per further occurrence of an identifier: repetition hints at importance ...
REPEAT_BONUS = 0.25
#: ... up to this many further occurrences (a loop variable is not the point of the code).
REPEAT_CAP = 4
#: Personalised PageRank teleport probability: a walk stays near its seeds (the cursor's file).
PPR_ALPHA = 0.2
#: Push tolerance (per out-edge of the node, as in Andersen, Chung and Lang: a hub needs more residual before it
#: is worth pushing).
PPR_EPSILON = 1e-3
#: Upper bound on push operations, so a dense graph cannot make one request slow.
PPR_MAX_PUSHES = 1_500
#: Weight of an edge walked backwards (from a dependency to its dependent): what uses a file matters less than
#: what it uses.
PPR_REVERSE_WEIGHT = 0.5
#: Seed mass of the current (or focus) file, of the recently edited files together, and of the files defining
#: the identifiers nearest the cursor together: the cursor's file leads, the others share a half each.
SEED_CURRENT = 1.0
SEED_RECENT = 0.5
SEED_NEAR_IDENTIFIERS = 0.5
#: Share of `SEED_NEAR_IDENTIFIERS` a chat question's symbol-search hit seeds its file with: many hits, each weak.
QUERY_HIT_SEED_SHARE = 0.1
#: Symbol-search hits whose files seed a chat question's PageRank: the best ones; the rest add noise.
QUERY_SEED_HITS = 50
#: BM25 parameters (the usual Robertson values).
BM25_K1 = 1.2
BM25_B = 0.75
#: BM25 results taken as "lexical" candidates: more would only fill the tail of the fusion.
LEXICAL_RESULTS = 200
#: A name defined in more files than this (none of them imported) is not looked up at all: too ambiguous.
AMBIGUOUS_NAME_LIMIT = 12
#: How sure the ranking is of which definition a name in the buffer means, surest first: imported from its file,
#: defined in the same folder, defined in one file only, or chosen by the dependency graph among namesakes
#: (`UNRESOLVED`: not looked up at all). Names are ranked by weight, then by this.
SURE_IMPORTED, SURE_SAME_FOLDER, SURE_ONLY_DEFINER, SURE_BY_GRAPH = range(4)
UNRESOLVED = 9
#: A name the current file also defines is most likely its own (unless imported): that many steps less sure.
LOCAL_NAME_DOUBT = 2
#: Definitions taken per name when it cannot be resolved through imports.
MAX_DEFINITIONS_PER_NAME = 3
#: Files of the graph neighbourhood considered for "neighbour" and "lexical" candidates.
NEIGHBOUR_FILES = 40
#: Definitions scored by BM25 at most (the neighbourhood's, in rank order): bounds its cost per prompt.
LEXICAL_DOCUMENTS = 400
#: Lines around the cursor forming the BM25 query (above, below): the code being written and what follows.
LEXICAL_WINDOW = (20, 5)
#: Fused candidates considered when packing: more never fit a 256K budget.
MAX_CANDIDATES = 3_000
#: Entries taken from each candidate source before fusion: budget / this, within the bounds below.
TOKENS_PER_CANDIDATE = 16
MIN_PER_SOURCE, MAX_PER_SOURCE = 200, 3_000
#: Languages whose files see the definitions of the other files in their folder without importing them (one
#: package per folder in Go; Java/Kotlin/C# packages and Ruby/PHP autoloaded namespaces usually; C/C++ headers
#: beside their sources).
FOLDER_IS_PACKAGE = frozenset({"go", "java", "kotlin", "csharp", "c", "cpp", "rust", "ruby", "php"})
#: Same-folder files taken as imported at most: a huge package folder must not crowd out real imports.
MAX_PACKAGE_SIBLINGS = 60
#: Per round of the "imported" interleaving, the most used imported file gives this many more definitions than
#: an unused one (usage = weights of the buffer's names that resolve into the file).
USAGE_SHARE_ITEMS = 4
#: Kinds whose members are pulled in when the type is used.
TYPE_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "type"})
#: What the cursor can reach (context.prompt.reach): types taken per type name (namesakes, nearest first) ...
REACH_TYPES_PER_NAME = 2
#: ... levels of bases whose members follow a type's own ...
REACH_BASE_DEPTH = 2
#: ... variables of the buffer (nearest the cursor first) whose inferred types' members are offered ...
REACH_VARIABLES = 12
#: ... and the shortest variable name matched as the end of a type's name (``segment`` -> ``CodePathSegment``).
REACH_NAME_SUFFIX_MIN = 4
#: Identifiers at least this near the cursor (their `PROXIMITY_BUCKETS` weight) are the variables whose types
#: are looked for: as the buffer binds them, or named after them (``request`` -> ``Request``).
REACH_NEAR_WEIGHT = 3.0
#: Lines above and below a cursor at top level searched for the types of variables (within a definition, the
#: outermost definition's lines are).
REACH_SCOPE_LINES = 150
#: Chat context: symbol-search hits taken per question word.
QUERY_HITS_PER_WORD = 8
#: Chat context: how many of the best candidates are shown whole (header and body) before the rest is packed
#: as headers; a task needs a few bodies, not many.
CHAT_BODIES = 12

# --- packing a budget (context.prompt.pack, context.prompt.fim) --------------------------------------------

#: The current file may take at most this share of a FIM budget (the rest is repository context) ...
CURRENT_SHARE = 0.35
#: ... but never less than this many tokens when it has them.
CURRENT_MIN = 384
#: The current file's reservation is rounded up to this many tokens, so it does not move while the user types.
CURRENT_QUANTUM = 256
#: Share of the current file's tokens before the cursor (the rest after it): FIM conditions mostly on the past.
PREFIX_SHARE = 0.75
#: The suffix never takes more than this: the code right after the cursor is what FIM needs, and everything
#: after the cursor is the part of a prompt a prefix cache cannot reuse while the user types.
SUFFIX_MAX_TOKENS = 2_048
#: A trimmed prefix starts on a line number that is a multiple of this (stable leading tokens while typing).
PREFIX_SNAP_LINES = 32
#: Tokens kept free for the cursor's line when choosing where the prefix starts.
CURSOR_LINE_RESERVE = 48
#: Enclosing-scope header lines kept above a trimmed prefix (and parents shown above a definition).
MAX_SCOPE_HEADERS = 6
#: Below this context budget a definition shows only the line with its name (no decorators, no continuation
#: lines, no doc line): denser, so more definitions fit where room is scarce.
DETAIL_MIN_BUDGET = 6_000
#: Whole files are not tried with less room than this left: no file that matters is that small.
MIN_WHOLE_FILE_ROOM = 64
#: The farther neighbourhood (beyond the ranked candidates) is visited only with this share of the budget
#: left: listing it costs more than the little it could add.
FARTHER_MIN_SHARE = 0.05
#: Candidates that did not fit in a row after which packing stops looking: the rest are no smaller.
MAX_PACKING_MISSES = 50
#: Tokens left below which packing stops: not even a bare name fits.
MIN_PACKING_ROOM = 4
#: A definition longer than this many lines is never shown whole on its own (its file may be).
MAX_BODY_LINES = 120
#: Reasons listed per prompt section (then "+N more"): enough to explain, short enough to read.
MAX_SECTION_REASONS = 3

# --- the repository map (context.prompt.repomap) ------------------------------------------------------------

#: Weight of a definition by kind: what a model navigates by (types, functions) over values and fields.
KIND_WEIGHTS: dict[str, float] = {
    "class": 1.0, "struct": 1.0, "interface": 1.0, "trait": 1.0, "enum": 0.8, "type": 0.7,
    "function": 1.0, "method": 0.9, "constant": 0.2, "field": 0.1, "module": 0.1,
}
#: Weight of a kind missing from `KIND_WEIGHTS`: between a type and a value.
UNKNOWN_KIND_WEIGHT = 0.5
#: Multiplier for names private to their file (``_helper``): not part of any interface.
PRIVATE_FACTOR = 0.1
#: Multiplier for special methods other than constructors: protocol plumbing, rarely what a reader looks for.
DUNDER_FACTOR = 0.3
#: Special methods that are a class's interface (how it is made), so not discounted as dunders.
CONSTRUCTORS = frozenset({"__init__", "__new__", "constructor", "new"})
#: Multiplier for tests and fixtures, unless they are focus files: they use the code, they do not define it.
TEST_FACTOR = 0.05
#: Share of a definition's file rank it gets without being referenced (a top file's public API counts even
#: when only used from outside the repository).
FILE_SHARE = 0.3
#: Share of a class's score its members inherit (divided by the square root of their number).
MEMBER_SHARE = 3.0
#: Weight of the focus-personalised ranks against the global ones when ``focus`` is given.
FOCUS_SHARE = 0.8
#: Power iterations of the global PageRank (damping 0.8 converges in a few).
PAGERANK_ITERATIONS = 8
#: Files whose references are counted (the best-ranked: the rest weigh little).
MAX_REFERRING_FILES = 250
#: Files whose definitions are candidates: one per this many budget tokens, within the bounds below.
TOKENS_PER_CANDIDATE_FILE = 10
MIN_CANDIDATE_FILES, MAX_CANDIDATE_FILES = 60, 300
#: Header lines shown for one definition at most (decorators are left out).
MAX_HEADER_LINES = 8
#: Header lines shown per definition in the map: the signature's start says enough.
MAX_MAP_HEADER_LINES = 3
#: Definitions rendered per budget token at most when sizing the map (an upper bound for the search).
MIN_TOKENS_PER_DEFINITION = 4
