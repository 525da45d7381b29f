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

It runs on every file, so it is built to be cheap: a substring pre-check for private key blocks, one pass of a
lower-case trigger regex to find the few candidate lines, and the detailed regexes (token formats, assignments)
only on those lines: about 30 MB/s on ordinary code, and a text without secrets comes back as the same object.
"""

from __future__ import annotations

import re

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
_SECRET_STEM = re.compile(
    r"(?:^|[._-])(?:credentials?|secrets?|client_secret\w*|tokens?|passwords?|service[_-]?account\w*)$"
)

#: Folders whose every file is secret.
_SECRET_DIRS = frozenset({".ssh", ".gnupg", ".aws", ".docker", ".kube", ".azure", ".gcloud"})

#: Private SSH key names and their variants (``id_rsa``, ``id_ed25519.old``, ``id_rsa.pub``).
_SSH_KEY = re.compile(r"^id_(?:rsa|dsa|ecdsa|ed25519)(?:[._-].*)?$")


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
    return extension in _DATA_EXTENSIONS and bool(_SECRET_STEM.search(name, 0, dot))


# --- secret values inside files --------------------------------------------------------------------------------

#: Private key blocks (PEM, OpenSSH, PGP), also inside string literals with escaped newlines. A block without its
#: END line is masked up to the end of its last base64-looking line.
_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?P<body>.{0,20000}?)-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"|(?P<open>[^\n]*(?:\n[\s\"'+,]*[A-Za-z0-9+/=]{16,}[^\n]*)*))",
    re.DOTALL,
)

#: The text of one line, for masking a key block line by line.
_LINE_TEXT = re.compile(r"[^\n]+")

#: Cheap first pass over the lower-cased text: every line that may hold a secret contains one of these. Grouped
#: by first letter, which makes Python's regex engine about 1.5 times faster than a flat alternation.
_TRIGGER = re.compile(
    r"k(?:ey)|t(?:oken)|s(?:ecret|k[-_])|p(?:ass(?:w|ph)|wd|ypi-)|c(?:redential)|b(?:earer)|://"
    r"|a(?:kia|sia|gpa|ida|roa|ipa|npa|nva|3t|iza)|g(?:h[pousr]_|ithub_pat_|lpat-)|x(?:ox)|e(?:yj)|n(?:pm_)"
    r"|h(?:f_|ooks\.slack)|r(?:k_live)"
)

#: A name that holds a secret: *secret*, *token*, *password*/*passwd*/*pwd*, *credential*, *passphrase*, and keys
#: (``*_KEY``, ``*-key``, ``*.key``, ``apiKey``, ``APIKEY``, ``apikey``), ending there, in a plural ``s`` or in
#: another part of the name (``SECRET_KEY_BASE``, ``tokenType``), but not inside a longer word (``keyboard``,
#: ``tokenizer``, ``monkey``).
_SECRET_NAME = re.compile(
    r"(?:(?i:secret|token|passw(?:or)?d|passwd|passphrase|credential|pwd"
    r"|(?:api|access|secret|private|signing|encryption|master|client|app|license|auth|account|service)[_.-]?key)"
    r"|[_.-](?i:key)|[a-z0-9]Key|[A-Z0-9]KEY)"
    r"(?:s|es)?(?:[_\-.A-Z0-9][\w.-]*)?$"
)

#: A value assigned to a name, in the syntax of code and configuration: ``name = v``, ``name := v``, ``name: v``,
#: ``"name": v``, ``name => v``, ``define('NAME', v)`` (a comma only after a quoted name), optionally after a type
#: annotation (``API_KEY: str = v``, ``const K: &str = v``, ``apiKey?: string``); the value is a one-line string
#: literal or, in config files and shell, a bare word running to the end of the line. Also ``#define NAME "v"`` and
#: ``<name>v</name>``. Whether the name is a secret one is decided afterwards, from `_SECRET_NAME`.
_ASSIGNMENT = re.compile(
    r"(?<![\w.-])(?:(?P<kq>[\"'])(?P<qname>[\w.-]+)(?P=kq)|(?P<name>[\w.-]++))"
    r"\s*\??\s*(?::\s*[A-Za-z_&][\w\[\]., |&<>'*?]*?\s*)?(?P<sep>=(?![=>~])|:=|=>|:(?!:)|(?(kq),|(?!)))\s*"
    r"(?:\"(?P<dq>[^\"\\\n]*(?:\\.[^\"\\\n]*)*)\""
    r"|'(?P<sq>[^'\\\n]*(?:\\.[^'\\\n]*)*)'"
    r"|`(?P<bq>[^`\\\n]*)`"
    r"|(?P<bare>[^\s'\"`,;#)}\]]+)(?=[ \t]*(?:$|[#;,)}\]]|//)))"
    r"|#[ \t]*define[ \t]+(?P<dname>\w+)[ \t]+\"(?P<define>[^\"\n]*)\""
    r"|<(?P<tag>[\w.-]+)>(?P<xml>[^<\n]+)</(?P=tag)>",
    re.MULTILINE,
)
_ASSIGNED_VALUES = ("dq", "sq", "bq", "define", "xml")

#: ``name=value`` and ``name: value`` inside prose (comments, docstrings, READMEs): `_ASSIGNMENT` wants an
#: unquoted value to end its line or statement, which a sentence never does (``log in with password=hunter2
#: first``). The value runs to the next space (or ``&`` in a URL's query) and may be followed by sentence
#: punctuation (not by ``)``: that is a call, ``f(token=t1)``); it does not start with ``/``, so ``https://`` is no
#: pair.
_PROSE_PAIR = re.compile(
    r"(?<![\w.-])(?P<name>[\w.-]+)(?:=|: ?)"
    r"(?P<bare>[^\s'\"`,;()<>\[\]{}&/][^\s'\"`,;()<>\[\]{}&]{2,}[^\s'\"`,;()<>\[\]{}&.:!?])(?=[.,;:!?]*(?:\s|$)|&)"
)

#: Secrets recognisable by their format, whatever holds them, and passwords in URLs (``scheme://user:pw@host``).
_TOKEN = re.compile(
    r"://[^/\s:@'\"]+:(?P<urlpw>[^/\s@'\"]+)@"
    r"|(?P<token>"  # every branch starts with a literal, so the regex engine skips other positions quickly
    r"A(?<![A-Z0-9]A)(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])"
    r"|g(?<!\wg)(?:h[pousr]_[A-Za-z0-9]{30,}|ithub_pat_[A-Za-z0-9_]{22,}|lpat-[A-Za-z0-9_-]{20,})"
    r"|x(?<!\wx)ox[bpars]-[A-Za-z0-9-]{10,}"
    r"|s(?<!\ws)k(?:_live_[A-Za-z0-9]{16,}|-[A-Za-z0-9_-]{20,})"
    r"|r(?<!\wr)k_live_[A-Za-z0-9]{16,}"
    r"|A(?<!\wA)Iza[0-9A-Za-z_-]{35}"
    r"|e(?<!\we)yJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|n(?<!\wn)pm_[A-Za-z0-9]{36}"
    r"|h(?:(?<!\wh)f_[A-Za-z0-9]{30,}|ooks\.slack\.com/services/[A-Za-z0-9/]+)"
    r"|p(?<!\wp)ypi-[A-Za-z0-9_-]{50,}"
    r"|B(?<!\wB)earer (?P<bearer>[A-Za-z0-9._~+/-]{20,}=*)"
    r")"
)

#: Quoted values that are obviously not secrets: placeholders and interpolations of configuration elsewhere.
_QUOTED_NON_SECRET = re.compile(r"[*xX.\-_ ]*|\$\{[^}]*\}|\{\{[^}]*\}\}|%\(\w+\)s|<[\w -]*>")

#: Unquoted values that are code or configuration references, not secrets: keywords, type names, short numbers,
#: variables (``$VAR``), calls and subscripts (``getenv(...)``, ``os.environ[...]``), attribute chains
#: (``settings.SECRET_KEY``), YAML tags and aliases.
_BARE_NON_SECRET = re.compile(
    r"(?:none|null|nil|some|true|false|undefined|str|string|int|bytes|bool|boolean|float|number|any|object|list|dict"
    r"|tuple|set|secretstr|optional)"
    r"|[\d_.]{1,7}|[$%{(\[<!&*|>@].*|.*[(\[].*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+",
    re.IGNORECASE,
)


def _replace_group(match: re.Match[str], group: str) -> str:
    """Return the text of ``match`` with the span of ``group`` replaced by `MASK`."""
    whole = match.group(0)
    start, end = match.start(group) - match.start(), match.end(group) - match.start()
    return whole[:start] + MASK + whole[end:]


def _mask_token(match: re.Match[str]) -> str:
    """Mask one `_TOKEN` match: the whole token, the credentials after ``Bearer``, or the password in a URL."""
    if match.group("bearer") is not None:
        return _replace_group(match, "bearer")
    return _replace_group(match, "token" if match.group("token") is not None else "urlpw")


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


def _mask_assignment(match: re.Match[str]) -> str:
    """Mask the value of one `_ASSIGNMENT` match when its name is a secret one and the value looks like a secret."""
    name = match.group("qname") or match.group("name") or match.group("dname") or match.group("tag")
    if not _SECRET_NAME.search(name):
        return match.group(0)
    bare = match.group("bare")
    if bare is not None:
        if _is_code(bare, name, match.group("sep"), match.string[match.end():].lstrip()[:1]):
            return match.group(0)
        return _replace_group(match, "bare")
    for group in _ASSIGNED_VALUES:
        value = match.group(group)
        if value is not None:
            if not value or _QUOTED_NON_SECRET.fullmatch(value):
                return match.group(0)
            if match.group("sep") == "," and value.isidentifier() and _SECRET_NAME.search(value):
                return match.group(0)  # a list of names: ``["password1", "password2"]``
            return _replace_group(match, group)
    return match.group(0)


def _mask_prose_pair(match: re.Match[str]) -> str:
    """Mask the value of one `_PROSE_PAIR` match when its name is a secret one and the value looks like a secret.

    Not masked: references (`_is_reference`), plain words (prose says ``token=none`` far more often than it
    leaks a password made only of letters), and the names of code that the same shape matches outside prose:
    variables with an underscore (``token_endpoint=token_url,``) and types (``private_key: Ed25519PrivateKey``).
    """
    name, value = match.group("name"), match.group("bare")
    if value.isalpha() or (value.isidentifier() and ("_" in value or value[0].isupper())):
        return match.group(0)
    if not _SECRET_NAME.search(name) or _is_reference(value, name):
        return match.group(0)
    return _replace_group(match, "bare")


def _mask_pem(match: re.Match[str]) -> str:
    """Mask a private key block's body line by line, keeping its newlines and its BEGIN/END markers."""
    group = "body" if match.group("body") is not None else "open"
    start, end = match.start(group) - match.start(), match.end(group) - match.start()
    whole = match.group(0)
    body = _LINE_TEXT.sub(MASK, whole[start:end])
    return whole[:start] + body + whole[end:]


def _mask_lines(text: str) -> str:
    """Run `_TOKEN`, `_ASSIGNMENT` and `_PROSE_PAIR` on the lines `_TRIGGER` finds candidates in, and leave all other lines untouched."""
    # U+0130 (İ) is the one character whose lower case is two characters long: keep positions aligned.
    lowered = (text.replace("\u0130", "i") if "\u0130" in text else text).lower()
    pieces: list[str] = []
    done = 0
    position = 0
    while (hit := _TRIGGER.search(lowered, position)) is not None:
        start = text.rfind("\n", 0, hit.start()) + 1
        end = text.find("\n", hit.end())
        end = len(text) if end < 0 else end
        line = text[start:end]
        masked = _ASSIGNMENT.sub(_mask_assignment, _TOKEN.sub(_mask_token, line))
        masked = _PROSE_PAIR.sub(_mask_prose_pair, masked)
        if masked != line:
            pieces.append(text[done:start])
            pieces.append(masked)
            done = end
        position = end + 1
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def mask_secrets(text: str) -> str:
    """Return ``text`` with every secret-looking value replaced by ``***`` and the same number of lines.

    Masked: the bodies of private key blocks (PEM, OpenSSH, PGP; the BEGIN/END lines stay), AWS access key ids,
    GitHub, GitLab, Slack, Stripe, npm, Hugging Face, PyPI and OpenAI/DashScope-style (``sk-...``) tokens, Google
    API keys, JWTs, Slack webhook paths, passwords in URLs (``scheme://user:***@host``), and values assigned to names
    like ``*_KEY``, ``apiKey``, ``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``, ``*PASSWD*``, ``*CREDENTIAL*`` —
    ``API_KEY = "..."``, ``"password": "..."``, ``export TOKEN=...``, ``password: ...``, ``$token = '...'``,
    ``define('DB_PASSWORD', '...')``, ``#define API_KEY "..."``, ``<password>...</password>`` — and such
    pairs in comments and docstrings (``# log in with password=hunter2 first``) when the value has a digit or
    a symbol.

    Left alone because they are not secrets: empty strings, placeholders (``"xxx"``, ``"***"``, ``"<token>"``,
    ``"${VAR}"``), and unquoted references to configuration elsewhere (``os.environ["K"]``, ``getenv("K")``,
    ``$VAR``, ``settings.SECRET_KEY``, ``None``, type annotations like ``token: str``).
    """
    if "PRIVATE KEY" in text:
        text = _PEM.sub(_mask_pem, text)
    return _mask_lines(text)


__all__ = ["MASK", "is_secret_path", "mask_secrets"]
