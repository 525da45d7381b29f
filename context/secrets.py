"""Keeping secrets out of everything the engine hands to a model.

Two defences, applied where text enters the engine:

* `is_secret_path` names the files that exist to hold secrets (``.env``, private keys, keystores, credential and
  token files). The scanner never indexes them and `scan.resolve_inside` refuses to open them.
* `mask_secrets` rewrites secret-looking values inside ordinary files to ``***``: private key blocks, well-known
  token formats (AWS, GitHub, Slack, OpenAI/DashScope ``sk-``, Google ``AIza``, JWTs, ...), passwords inside URLs,
  and values assigned to names such as ``*_KEY``, ``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``, ``*CREDENTIAL*`` in the
  syntax of Python, JS/TS, Go, Rust, Java, Ruby, PHP, shell, YAML, JSON, INI and ``.env`` files.

When unsure, it masks: a masked ``cache_key = "user"`` costs a model little, a leaked key costs its owner a lot.
It never removes a newline, so line numbers in masked text match the file on disk.

It runs on every file and on every unsaved buffer, so its time is linear in the text, whatever the text: every
regex is RE2 (the ``google-re2`` wheel: no backtracking), applied to the UTF-8 bytes of the text, and the name
rules examine at most `MAX_WINDOW` bytes at a time (a longer line is cut into overlapping windows). One RE2 pass
over the whole text finds the token formats (`context/secret_rules.toml`, after gitleaks' rule set) and
passwords in URLs and command lines; one pass of a trigger regex finds the few lines the name rules need to
look at; a text without secrets comes back as the same object. ``bench/bench_secrets.py`` measures recall, false
positives and speed.
"""

from __future__ import annotations

import bisect
import functools
import tomllib
from collections.abc import Iterator
from importlib.resources import files
from typing import Protocol

import re2

#: What every secret value is replaced with.
MASK = "***"

# --- files that hold secrets -----------------------------------------------------------------------------------

#: Whole file names (lower case) that only ever hold secrets.
_SECRET_NAMES = frozenset({
    ".env", ".envrc", ".npmrc", ".yarnrc.yml", ".pypirc", ".netrc", "_netrc", ".git-credentials", ".pgpass",
    ".htpasswd", ".dockercfg", ".s3cfg", ".boto", ".vault-token", "credentials", "secrets", "secret",
    "authorized_keys", "known_hosts", "shadow", "master.key", "credentials.yml.enc",
})

#: Extensions (lower case, with the dot) of key stores and key files.
_SECRET_EXTENSIONS = frozenset({
    ".pem", ".key", ".p12", ".pfx", ".p8", ".keystore", ".jks", ".bks", ".ppk", ".kdbx", ".keychain",
    ".gpg", ".pgp", ".asc", ".tfstate", ".tfvars", ".secret", ".secrets", ".env",
})

#: Data-file extensions: ``credentials.json`` or ``secrets.yaml`` hold secrets, ``credentials.py`` is code (whose
#: values `mask_secrets` still masks) and stays indexed.
_DATA_EXTENSIONS = frozenset({
    "", ".json", ".yml", ".yaml", ".toml", ".ini", ".cfg", ".conf", ".config", ".xml", ".txt", ".csv", ".env",
    ".properties", ".plist", ".enc", ".gpg", ".dat", ".db", ".backup", ".bak",
})

#: File name stems whose data files hold secrets (``credentials.json``, ``client_secret.json``, ``tokens.yaml``).
_SECRET_STEM = re2.compile(
    r"(?:^|[._-])(?:credentials?|secrets?|client_secret\w*|tokens?|passwords?|service[_-]?account\w*)$"
)

#: Folders whose every file is secret.
_SECRET_DIRS = frozenset({".ssh", ".gnupg", ".aws", ".docker", ".kube", ".azure", ".gcloud"})

#: Private SSH key names and their variants (``id_rsa``, ``id_ed25519.old``, ``id_rsa.pub``).
_SSH_KEY = re2.compile(r"^id_(?:rsa|dsa|ecdsa|ed25519)(?:[._-].*)?$")


def is_secret_path(rel: str) -> bool:
    """Tell whether the file at ``rel`` (relative, ``/`` or ``\\`` separated) exists to hold secrets.

    True for ``.env`` and ``.env.*``, private keys and key stores (``*.pem``, ``*.key``, ``id_rsa*``, ``*.p12``,
    ``*.pfx``, ``*.jks``, ``*.keystore``, ...), package-manager and network credentials (``.npmrc``, ``.pypirc``,
    ``.netrc``, ``.git-credentials``), data files named like credentials or secrets (``credentials.json``,
    ``secrets.yaml``, ``client_secret_123.json``), Terraform state, and anything under ``.ssh``, ``.aws``,
    ``.gnupg``, ``.docker``, ``.kube``. Source files named ``credentials.py`` or ``secrets.py`` are code, not data:
    they stay indexed and their values are masked instead.
    """
    path = rel.replace("\\", "/").lower().rstrip("/")
    folder, _, name = path.rpartition("/")
    if name in _SECRET_NAMES or name.startswith(".env.") or name.startswith("id_") and _SSH_KEY.match(name):
        return True
    if folder and "." in folder and not _SECRET_DIRS.isdisjoint(folder.split("/")):
        return True
    dot = name.rfind(".")
    if dot <= 0:  # no extension (a leading dot starts a name, not an extension)
        return bool(_SECRET_STEM.search(name))
    extension = name[dot:]
    if extension in _SECRET_EXTENSIONS:
        return True
    return extension in _DATA_EXTENSIONS and bool(_SECRET_STEM.search(name[:dot]))


# --- secret values inside files --------------------------------------------------------------------------------

#: Bytes of one line examined at a time by the name rules; longer lines are cut into windows this long, each
#: overlapping the next by `WINDOW_OVERLAP` bytes (a ``name = "value"`` pair longer than that is not seen whole).
MAX_WINDOW = 4096
WINDOW_OVERLAP = 512

#: The BEGIN and END lines of a private key block (PEM, OpenSSH, PGP); the body between them is masked. A block
#: without its END line within `MAX_KEY_BLOCK` bytes is masked up to the end of its last base64-looking line.
_PEM_BEGIN = re2.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re2.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_BASE64_LINE = re2.compile(r"^[\s\"'+,]*[A-Za-z0-9+/=]{16,}")
MAX_KEY_BLOCK = 20_000


def _load_rules() -> list[tuple[str, str, str]]:
    """(id, regex, example) of every token format in ``secret_rules.toml``."""
    data = tomllib.loads(files("context").joinpath("secret_rules.toml").read_text(encoding="utf-8"))
    return [(rule["id"], rule["regex"], rule["example"]) for rule in data["rule"]]


#: Token formats recognisable wherever they appear (id, RE2 regex matching exactly the secret, example).
TOKEN_RULES = _load_rules()

#: One RE2 pass over the whole text: each named group is the secret part of its kind of match.
_TOKEN = re2.compile(
    "(?P<token>" + "|".join(f"(?:{regex})" for _, regex, _ in TOKEN_RULES) + ")"
    # a password in a URL: scheme://user:***@host
    r"|://[^/\s:@'\"]+:(?P<urlpw>[^/\s@'\"]+)@"
    # an Authorization header's credentials
    r"|\bBearer[ \t]+(?P<bearer>[A-Za-z0-9._~+/-]{20,}=*)"
    # a token split to dodge scanners: "ghp_" + "..."
    r"|\b(?:gh[pousr]_|github_pat_|glpat-|xox[abposre]-|xapp-|sk-|sk_live_|hf_|npm_|AKIA|AIza)[\"'][ \t]*\+[ \t]*"
    r"[\"'](?P<split>[^\"'\s]{6,})"
    # command lines: curl -u user:***, mysql -p***
    r"|\bcurl\b[^\n]*?\s(?:-u|--user)(?:[ \t]+|=)?[\"']?[^\s:\"']+:(?P<curl>[^\s\"'@]+)"
    r"|\bmysql(?:dump|admin|sh)?\b[^\n]*?\s-p(?P<mysql>[^\s\"']+)"
)
_TOKEN_GROUPS = tuple(_TOKEN.groupindex[name] for name in ("token", "urlpw", "bearer", "split", "curl", "mysql"))

#: What every secret name holds (see `_SECRET_NAME`), the part of a name that makes it a candidate, and a word of
#: a name holding it: the name rules only match such names, so ordinary assignments cost nothing.
_KEYWORD = r"(?i:key|token|secret|passw|passph|pwd|credential)"
_NAME_KEYWORD = (
    r"(?:(?i:secret|token|passw|passph|pwd|credential)|[_.-](?i:key)|[a-z0-9]Key|[A-Z0-9]KEY"
    r"|(?i:api|access|private|signing|encryption|master|client|app|license|auth|account|service)[_.-]?(?i:key))"
)
_NAME = r"[\w.-]*" + _NAME_KEYWORD + r"[\w.-]*"

#: Cheap first pass over the lower-cased text: the lines the name rules can mask, each holding one of the words.
_CANDIDATE_LINE = re2.compile(r"(?m)^[^\n]*(?:key|token|secret|passw|passph|pwd|credential|akia|asia)[^\n]*")

#: A name that holds a secret: *secret*, *token*, *password*/*passwd*/*pwd*, *credential*, *passphrase*, and keys
#: (``*_KEY``, ``*-key``, ``*.key``, ``apiKey``, ``APIKEY``, ``apikey``, ``AccountKey``), ending there, in a plural
#: ``s`` or in another part of the name (``SECRET_KEY_BASE``, ``tokenType``), but not inside a longer word
#: (``keyboard``, ``tokenizer``, ``monkey``).
_SECRET_NAME = re2.compile(
    r"(?:(?i:secret|token|passw(?:or)?d|passwd|passphrase|credential|pwd"
    r"|(?:api|access|secret|private|signing|encryption|master|client|app|license|auth|account|service)[_.-]?key)"
    r"|[_.-](?i:key)|[a-z0-9]Key|[A-Z0-9]KEY)"
    r"(?:s|es)?(?:[_\-.A-Z0-9][\w.-]*)?$"
)

#: A value assigned to a name, in the syntax of code and configuration: ``name = v``, ``name := v``, ``name: v``,
#: ``"name": v``, ``config["name"] = v``, ``name => v``, ``define('NAME', v)`` (a comma only after a quoted name,
#: checked in code), optionally after a type annotation (``API_KEY: str = v``, ``const K: &str = v``, ``apiKey?: string``); the
#: value is a one-line string literal (with a ``b``/``r``/``u``/``f`` prefix), a bare word running to the end of
#: the line or statement (checked in code), or nothing but ``(`` or ``\`` (the value is on the next line). Also
#: ``#define NAME "v"`` and ``<name>v</name>``. Whether the name is a secret one is decided from `_SECRET_NAME`.
_ASSIGNMENT = re2.compile(
    r"(?m)(?:^|[^\w.-])(?:\"(?P<dqname>" + _NAME + r")\"|'(?P<sqname>" + _NAME + r")'|(?P<name>" + _NAME + r"))"
    r"\]?[ \t]*\??[ \t]*(?::[ \t]*[A-Za-z_&][\w\[\]., |&<>'*?]*?[ \t]*)?(?P<sep>=>|==?|:=|::?|,)[ \t]*"
    r"(?:[bBrRuUfF]{0,2}\"(?P<dq>[^\"\\\n]*(?:\\.[^\"\\\n]*)*)\""
    r"|[bBrRuUfF]{0,2}'(?P<sq>[^'\\\n]*(?:\\.[^'\\\n]*)*)'"
    r"|`(?P<bq>[^`\\\n]*)`"
    r"|(?P<cont>[(\\])[ \t]*$"
    r"|(?P<bare>[^\s'\"`,;#)}\]]+)[ \t]*)"
    r"|#[ \t]*define[ \t]+(?P<dname>\w*" + _NAME_KEYWORD + r"\w*)[ \t]+\"(?P<define>[^\"\n]*)\""
    r"|<(?P<tag>" + _NAME + r")>(?P<xml>[^<\n]+)</(?P<endtag>[\w.-]+)>"
)
_ASSIGNED_VALUES = ("dq", "sq", "bq", "define", "xml")

#: ``name=value`` and ``name: value`` inside prose (comments, docstrings, READMEs): `_ASSIGNMENT` wants an
#: unquoted value to end its line or statement, which a sentence never does (``log in with password=hunter2
#: first``). The value runs to the next space (or ``&`` in a URL's query) and may be followed by sentence
#: punctuation (checked in code; not by ``)``: that is a call, ``f(token=t1)``); it does not start with ``/``,
#: so ``https://`` is no pair.
_PROSE_PAIR = re2.compile(
    r"(?m)(?:^|[^\w.-])(?P<name>" + _NAME + r")(?:=|: ?)"
    r"(?P<bare>[^\s'\"`,;()<>\[\]{}&/][^\s'\"`,;()<>\[\]{}&]{2,}[^\s'\"`,;()<>\[\]{}&.:!?])"
)
_SENTENCE_END = re2.compile(r"[.,;:!?]*(?:\s|$)|&")

#: ``;Password=value;`` inside a connection string (ADO.NET, ODBC, Azure ``AccountKey=``): a pair led by ``;`` or
#: a quote, its value running to the next ``;``, ``&`` or quote.
_KEY_VALUE = re2.compile(
    r"[;\"'`][ \t]*(?P<name>(?:[A-Za-z][\w.-]{0,30} )?[\w.-]{0,30}?" + _NAME_KEYWORD + r"\w{0,10})[ \t]*=[ \t]*"
    r"(?P<value>[^;&'\"`\s]{3,})(?:[;&'\"`\n]|$)"
)

#: A quoted AWS secret access key (40 base64 characters) on a line holding an access key id.
_AWS_SECRET = re2.compile(r"[\"'](?P<value>[A-Za-z0-9/+]{40})[\"']")
_AWS_KEY_ID = re2.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")

#: The string literals (or else the bare word) of a value continued on the next line (``KEY = (`` / ``KEY = \``).
_CONTINUED = re2.compile(r"[\"'](?P<value>[^\"'\\]+)[\"']|^[ \t]*(?P<bare>[^\s'\"`,;#)}\]]+)[ \t]*$")

#: Quoted values that are obviously not secrets: placeholders and interpolations of configuration elsewhere.
_QUOTED_NON_SECRET = re2.compile(r"[*xX.\-_ ]*|\$\{[^}]*\}|\{\{[^}]*\}\}|%\(\w+\)s|<[\w -]*>")

#: Unquoted values that are code or configuration references, not secrets: keywords, type names, short numbers,
#: variables (``$VAR``), calls and subscripts (``getenv(...)``, ``os.environ[...]``), attribute chains
#: (``settings.SECRET_KEY``), YAML tags and aliases.
_BARE_NON_SECRET = re2.compile(
    r"(?i:none|null|nil|some|true|false|undefined|str|string|int|bytes|bool|boolean|float|number|any|object|list"
    r"|dict|tuple|set|secretstr|optional)"
    r"|[\d_.]{1,7}|[$%{(\[<!&*|>@].*|.*[(\[].*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
)

#: Group numbers by name (google-re2 rebuilds ``groupindex`` on every access, and ``match.group(name)`` uses it).
_A = dict(_ASSIGNMENT.groupindex)
_P = dict(_PROSE_PAIR.groupindex)
_K = dict(_KEY_VALUE.groupindex)
_C = dict(_CONTINUED.groupindex)
_AWS_VALUE = _AWS_SECRET.groupindex["value"]


class _Match(Protocol):
    """What the masker uses of an RE2 match (``google-re2`` ships no type information)."""

    def group(self, key: str | int = 0) -> bytes | None: ...
    def span(self, key: int = 0) -> tuple[int, int]: ...
    def end(self, key: int = 0) -> int: ...


#: A span of the text's UTF-8 bytes to replace with `MASK`.
_Span = tuple[int, int]


def _group(match: _Match, index: dict[str, int], name: str) -> tuple[int, int]:
    """The span of group ``name`` of ``match`` ((-1, -1) when it did not take part)."""
    return match.span(index[name])


@functools.lru_cache(maxsize=4096)
def _is_secret_name(name: str) -> bool:
    """Whether ``name`` holds a secret (`_SECRET_NAME`); cached: code repeats its names."""
    return _SECRET_NAME.search(name) is not None


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _is_reference(bare: str, name: str) -> bool:
    """Tell an unquoted value that names something else rather than holding a secret: references
    (`_BARE_NON_SECRET`), paths (``token::Brace``), a value passed along under (nearly) its own name
    (``self.token = token``, ``cache_key=elem_cache_key``)."""
    if _BARE_NON_SECRET.fullmatch(bare) or "::" in bare:
        return True
    last = name.rsplit(".", 1)[-1].lstrip("$@:-")
    return bare.isidentifier() and (bare in name or last.lower() in bare.lower())


def _is_code(bare: str, name: str, separator: str, after: str) -> bool:
    """Tell an unquoted value that is code or a reference from a secret written in a config file.

    Code: a reference (`_is_reference`), a typed parameter or field (``token: Literal,``, ``gt_token: Some)``),
    a variable passed as an argument (``login(password=pw)``), and anything after a comma
    (``hasher.encode("password", salt)``).
    """
    if separator == "," or _is_reference(bare, name):
        return True
    return after in (",", ")", "}") and (separator == ":" or bare.isidentifier())


def _bare_ends_statement(line: bytes, end: int) -> bool:
    """Whether an unquoted value ending at ``end`` ends its line or statement (a newline, ``#``, ``;``, ``,``,
    ``)``, ``}``, ``]`` or ``//`` follows)."""
    return end >= len(line) or line[end:end + 1] in (b"\n", b"#", b";", b",", b")", b"}", b"]") or \
        line.startswith(b"//", end)


def _assignment_span(match: _Match, line: bytes) -> tuple[_Span | None, bool]:
    """The span (in ``line``) to mask for one `_ASSIGNMENT` match, and whether the value continues on the next
    line; (None, False) when the name is no secret one or the value is no secret."""
    index = _A
    raw = next((found for key in ("dqname", "sqname", "name", "dname", "tag")
                if (found := match.group(index[key])) is not None), b"")
    name = _text(raw)
    if match.group(index["tag"]) is not None and match.group(index["tag"]) != match.group(index["endtag"]):
        return None, False
    if not _is_secret_name(name):
        return None, False
    sep = _text(match.group(index["sep"]) or b"")
    sep_end = _group(match, index, "sep")[1]
    if sep in ("==", "::") or sep == "," and raw == match.group(index["name"]) or \
            sep == "=" and line[sep_end:sep_end + 1] == b"~":
        return None, False
    if match.group(index["cont"]) is not None:
        return None, True
    bare = match.group(index["bare"])
    if bare is not None:
        start, end = _group(match, index, "bare")
        if not _bare_ends_statement(line, match.end()):
            return None, False
        if _is_code(_text(bare), name, sep, _text(line[match.end():match.end() + 1])):
            return None, False
        return (start, end), False
    for key in _ASSIGNED_VALUES:
        value = match.group(index[key])
        if value is None:
            continue
        text = _text(value)
        if not text or _QUOTED_NON_SECRET.fullmatch(text):
            return None, False
        if sep == "," and text.isidentifier() and _SECRET_NAME.search(text):
            return None, False  # a list of names: ``["password1", "password2"]``
        return _group(match, index, key), False
    return None, False


def _prose_span(match: _Match, line: bytes) -> _Span | None:
    """The span to mask for one `_PROSE_PAIR` match, or None.

    Not masked: references (`_is_reference`), plain words (prose says ``token=none`` far more often than it
    leaks a password made only of letters), values not ending the sentence, and the names of code that the
    same shape matches outside prose: variables with an underscore (``token_endpoint=token_url,``) and types
    (``private_key: Ed25519PrivateKey``).
    """
    start, end = _group(match, _P, "bare")
    if _SENTENCE_END.match(line, end) is None:
        return None
    name, value = _text(match.group(_P["name"]) or b""), _text(match.group(_P["bare"]) or b"")
    if value.isalpha() or (value.isidentifier() and ("_" in value or value[0].isupper())):
        return None
    if not _is_secret_name(name) or _is_reference(value, name):
        return None
    return start, end


def _key_value_span(match: _Match) -> _Span | None:
    """The span to mask for one `_KEY_VALUE` match (a secret name in a connection string), or None."""
    name = _text(match.group(_K["name"]) or b"").replace(" ", "")
    if not _is_secret_name(name):
        return None
    return _group(match, _K, "value")


def _buffer_spans(buffer: bytes) -> tuple[list[_Span], list[int]]:
    """The spans the name rules mask in ``buffer`` (candidate lines joined by newlines), and the positions of
    assignments whose value continues on the next line."""
    spans: list[_Span] = []
    continued: list[int] = []
    for match in _ASSIGNMENT.finditer(buffer):
        span, more = _assignment_span(match, buffer)
        if more:
            continued.append(match.end())
        if span is not None:
            spans.append(span)
    for match in _PROSE_PAIR.finditer(buffer):
        span = _prose_span(match, buffer)
        if span is not None:
            spans.append(span)
    for match in _KEY_VALUE.finditer(buffer):
        span = _key_value_span(match)
        if span is not None:
            spans.append(span)
    for key_id in _AWS_KEY_ID.finditer(buffer):
        low = buffer.rfind(b"\n", 0, key_id.start()) + 1
        line = buffer[low:_line_end(buffer, key_id.end())]
        spans += [(low + a, low + b) for a, b in (m.span(_AWS_VALUE) for m in _AWS_SECRET.finditer(line))]
    return spans, continued


def _windows(start: int, end: int) -> Iterator[tuple[int, int]]:
    """Windows of at most `MAX_WINDOW` + `WINDOW_OVERLAP` bytes covering ``start``..``end``."""
    at = start
    while True:
        yield at, min(end, at + MAX_WINDOW + WINDOW_OVERLAP)
        at += MAX_WINDOW
        if at >= end:
            return


def _continued_spans(data: bytes, start: int, end: int) -> list[_Span]:
    """The values on a line continuing a secret assignment (its string literals, or its one bare word)."""
    line = data[start:min(end, start + MAX_WINDOW)]
    spans = []
    for match in _CONTINUED.finditer(line):
        key = "value" if match.group(_C["value"]) is not None else "bare"
        low, high = _group(match, _C, key)
        if not _QUOTED_NON_SECRET.fullmatch(_text(line[low:high])):
            spans.append((start + low, start + high))
    return spans


def _line_end(data: bytes, position: int) -> int:
    end = data.find(b"\n", position)
    return len(data) if end < 0 else end


def _candidate_windows(data: bytes) -> tuple[list[int], list[int], list[bytes]]:
    """The windows of the lines `_CANDIDATE_LINE` finds: their offsets in a buffer joining them with
    newlines, their offsets in ``data``, and their bytes."""
    at: list[int] = []
    origins: list[int] = []
    pieces: list[bytes] = []
    offset = 0
    for line in _CANDIDATE_LINE.finditer(data.lower()):  # ASCII lower case: positions stay those of ``data``
        for low, high in _windows(*line.span()):
            at.append(offset)
            origins.append(low)
            pieces.append(data[low:high])
            offset += high - low + 1
    return at, origins, pieces


def _name_spans(data: bytes) -> list[_Span]:
    """The spans the name rules mask in ``data``: its candidate lines are cut into windows and joined, so every
    rule makes one pass over all of them."""
    at, origins, pieces = _candidate_windows(data)
    if not pieces:
        return []
    found, continued = _buffer_spans(b"\n".join(pieces))
    spans: list[_Span] = []
    for start, end in found:
        window = bisect.bisect_right(at, start) - 1
        shift = origins[window] - at[window]
        spans.append((start + shift, end + shift))
    for position in continued:
        window = bisect.bisect_right(at, position) - 1
        following = _line_end(data, position + origins[window] - at[window]) + 1
        if following < len(data):
            spans += _continued_spans(data, following, _line_end(data, following))
    return spans


def _token_spans(data: bytes) -> list[_Span]:
    """The spans of token formats, URL passwords, bearer credentials, split tokens and command-line passwords."""
    spans: list[_Span] = []
    for match in _TOKEN.finditer(data):
        for index in _TOKEN_GROUPS:
            span: tuple[int, int] = match.span(index)
            if span[0] >= 0:
                spans.append(span)
                break
    return spans


def _pem_spans(data: bytes) -> list[_Span]:
    """The lines of private key blocks' bodies (BEGIN and END lines kept, newlines kept)."""
    spans: list[_Span] = []
    for begin in _PEM_BEGIN.finditer(data):
        body_start = begin.end()
        end_marker = _PEM_END.search(data[body_start:body_start + MAX_KEY_BLOCK])
        if end_marker is not None:
            body_end = body_start + end_marker.start()
        else:  # no END line: up to the last base64-looking line after BEGIN
            body_end = _line_end(data, body_start)
            while body_end < len(data) and body_end - body_start < MAX_KEY_BLOCK:
                following = _line_end(data, body_end + 1)
                if not _BASE64_LINE.match(data[body_end + 1:following]):
                    break
                body_end = following
        at = body_start
        while at < body_end:
            stop = min(_line_end(data, at), body_end)
            if stop > at:
                spans.append((at, stop))
            at = stop + 1
    return spans


def _apply(data: bytes, spans: list[_Span]) -> bytes:
    """``data`` with every span (merged where they overlap) replaced by `MASK`."""
    pieces: list[bytes] = []
    done = 0
    for start, end in sorted(spans):
        if end <= done:
            continue
        start = max(start, done)
        pieces += [data[done:start], MASK.encode()]
        done = end
    pieces.append(data[done:])
    return b"".join(pieces)


def mask_secrets(text: str) -> str:
    """Return ``text`` with every secret-looking value replaced by ``***`` and the same number of lines.

    Masked: the bodies of private key blocks (PEM, OpenSSH, PGP; the BEGIN/END lines stay), the token formats
    of `TOKEN_RULES` (AWS, GitHub, GitLab, Slack, Stripe, OpenAI/DashScope/Anthropic ``sk-``, Google, JWTs,
    npm, PyPI, Hugging Face and 50 more), tokens split as ``"ghp_" + "..."``, passwords in URLs
    (``scheme://user:***@host``) and command lines (``curl -u user:***``, ``mysql -p***``), bearer credentials,
    connection-string pairs (``;Password=***;``, ``AccountKey=***``), a quoted AWS secret key beside its key id,
    and values assigned to names like ``*_KEY``, ``apiKey``, ``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``,
    ``*PASSWD*``, ``*CREDENTIAL*`` — ``API_KEY = "..."``, ``app.secret_key = b"..."``, ``"password": "..."``,
    ``export TOKEN=...``, ``password: ...``, ``$token = '...'``, ``define('DB_PASSWORD', '...')``,
    ``#define API_KEY "..."``, ``<password>...</password>``, a value on the line after ``KEY = (`` or
    ``KEY = \\`` — and such pairs in comments and docstrings (``# log in with password=hunter2 first``) when the
    value has a digit or a symbol.

    Left alone because they are not secrets: empty strings, placeholders (``"xxx"``, ``"***"``, ``"<token>"``,
    ``"${VAR}"``), and unquoted references to configuration elsewhere (``os.environ["K"]``, ``getenv("K")``,
    ``$VAR``, ``settings.SECRET_KEY``, ``None``, type annotations like ``token: str``).

    Linear time in the length of ``text`` (see the module's docstring); never raises.
    """
    if not text:
        return text
    data = text.encode("utf-8", "surrogatepass")
    spans = _token_spans(data) + _name_spans(data)
    if b"PRIVATE KEY" in data:
        spans += _pem_spans(data)
    if not spans:
        return text
    masked = _apply(data, spans)
    try:
        return masked.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:  # a span cut a character that was not valid UTF-8 to begin with
        return masked.decode("utf-8", "replace")


__all__ = ["MASK", "TOKEN_RULES", "is_secret_path", "mask_secrets"]
