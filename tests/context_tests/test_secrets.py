"""Secret files are recognised by name, and secret values inside ordinary files are masked to ``***``."""

from __future__ import annotations

import pytest

from context.secrets import is_secret_path, mask_secrets

# Clearly fake values, shaped like the real thing so the patterns must catch them.
GITHUB = "ghp_" + "FAKEfake0123456789FAKEfake0123456789"
AWS_ID = "AKIA" + "FAKEFAKE12345678"
SLACK = "xoxb-" + "000000000000-FAKEFAKEFAKE"
OPENAI = "sk-" + "proj-FAKEfakeFAKEfakeFAKEfake1234"
GOOGLE = "AIza" + "SyFAKE-fake_FAKEfakeFAKEfake1234567"
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiJmYWtlIn0" + ".ZmFrZS1zaWduYXR1cmUtZmFrZQ"


@pytest.mark.parametrize("rel", [
    ".env", ".env.local", "deploy/.env.production", "server.pem", "tls/server.key", "id_rsa", "id_ed25519.pub",
    "cert/store.p12", "cert/store.pfx", "android/release.keystore", "java/trust.jks", ".npmrc", ".pypirc",
    ".netrc", ".git-credentials", "credentials", "config/credentials.json", "secrets.yaml", "config/secrets.json",
    "client_secret_1234.json", "infra/terraform.tfstate", "home/.ssh/config", ".aws/config", "C:\\keys\\a.pem",
])
def test_files_that_exist_to_hold_secrets_are_secret(rel: str) -> None:
    assert is_secret_path(rel)


@pytest.mark.parametrize("rel", [
    "src/app.py", "context/secrets.py", "botocore/credentials.py", "lib/tokens.ts", "keys.go", "README.md",
    "environment.py", "env/config.py", "docs/keyboard.md", "src/.envelope.js",
])
def test_source_files_are_not_secret_even_with_telling_names(rel: str) -> None:
    assert not is_secret_path(rel)


MASKED = [
    (f'GITHUB_TOKEN = "{GITHUB}"', 'GITHUB_TOKEN = "***"'),
    (f"aws_access_key_id = {AWS_ID}", "aws_access_key_id = ***"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEFAKEKEY", "aws_secret_access_key = ***"),
    ('password = "hunter2"', 'password = "***"'),
    ('    "password": "s3cr3t!",', '    "password": "***",'),
    ("export API_KEY=abc123def", "export API_KEY=***"),
    ("DB_PASSWD='x1y2z3'", "DB_PASSWD='***'"),
    ("const apiKey = 'hello-key';", "const apiKey = '***';"),
    ('\tapiKey := "gopher-key"', '\tapiKey := "***"'),
    ('\tPassword: "gopher-pass",', '\tPassword: "***",'),
    ("  password: hunter2", "  password: ***"),
    ('API_KEY: Final = "final-secret"', 'API_KEY: Final = "***"'),
    ('let api_key: &str = "rust-secret";', 'let api_key: &str = "***";'),
    ('private static final String CLIENT_SECRET = "java-secret";', 'private static final String CLIENT_SECRET = "***";'),
    ("define('DB_PASSWORD', 'wp-secret');", "define('DB_PASSWORD', '***');"),
    ("$password = 'php-secret';", "$password = '***';"),
    (':password => "ruby-secret",', ':password => "***",'),
    ('#define API_KEY "c-secret"', '#define API_KEY "***"'),
    ("<password>xml-secret</password>", "<password>***</password>"),
    ("spring.datasource.password=props-secret", "spring.datasource.password=***"),
    ("SECRET_KEY_BASE = 'rails-secret'", "SECRET_KEY_BASE = '***'"),
    ("auth_credentials = `template`", "auth_credentials = `***`"),
    ('url = "postgres://admin:pa55word@db.example.com/app"', 'url = "postgres://admin:***@db.example.com/app"'),
    (f'client = Client("{SLACK}")', 'client = Client("***")'),
    (f"OPENAI = '{OPENAI}'", "OPENAI = '***'"),
    (f'maps("{GOOGLE}")', 'maps("***")'),
    (f"fetch(url, {{jwt: '{JWT}'}})", "fetch(url, {jwt: '***'})"),
    ("headers['Authorization'] = 'Bearer abcdefghijklmnopqrstuvwxyz012345'", "headers['Authorization'] = 'Bearer ***'"),
    (f"# remember: {GITHUB}", "# remember: ***"),
]


@pytest.mark.parametrize(("line", "expected"), MASKED)
def test_secret_values_are_masked_in_every_syntax(line: str, expected: str) -> None:
    assert mask_secrets(line) == expected


KEPT = [
    'API_KEY = os.environ["API_KEY"]',
    'token = os.getenv("TOKEN")',
    "api_key = settings.API_KEY",
    "SECRET_KEY = None",
    'password = ""',
    'api_key = "xxx"',
    'api_key = "<your key here>"',
    "DB_PASSWORD: ${DB_PASSWORD}",
    'password: "${DB_PASSWORD}"',
    "export TOKEN=$GITHUB_TOKEN",
    "token: str",
    "api_key: str | None = None",
    "max_tokens = 4096",
    "    max_tokens=8192,",
    'if password == "guess":',
    'keyboard = "us"',
    'tokenizer = "qwen"',
    'author = "Ada"',
    "self.token = token",
    "password=password,",
    'headers = {"Authorization": f"Bearer {token}"}',
    "def login(user, password):",
    "    pub brace_token: token::Brace,",
    "fn from(token: Literal) -> Self {",
    "        gt_token: Some,",
    "    cache_key=elem_cache_key,",
    'client.login(username="u", password=pw)',
    'hasher.encode("password", salt)',
    'for fields in (["password1", "password2"]):',
    "Condition{Token: tweedle})",
]


@pytest.mark.parametrize("line", KEPT)
def test_references_to_secrets_and_ordinary_code_are_left_alone(line: str) -> None:
    assert mask_secrets(line) == line


@pytest.mark.parametrize(("line", "expected"), [
    ("# log in with password=hunter2 first", "# log in with password=*** first"),
    ('    """Call it with password=hunter2, then retry."""', '    """Call it with password=***, then retry."""'),
    ("// the api_key: abc123def is for tests only.", "// the api_key: *** is for tests only."),
    ("see https://example.com/?token=abc123&page=2 for details", "see https://example.com/?token=***&page=2 for details"),
    ("TOKEN=abc123 ./run.sh", "TOKEN=*** ./run.sh"),
])
def test_name_value_pairs_in_comments_and_docstrings_are_masked(line: str, expected: str) -> None:
    assert mask_secrets(line) == expected


@pytest.mark.parametrize("line", [
    "# pass token=none to disable it",  # a plain word
    "# the password: see settings.PASSWORD here",  # a reference
    "    token_endpoint=token_url, timeout=5",  # a variable passed along
    "    private_key: Ed25519PrivateKey | None,",  # a type
    "    s1.compile(cache_key=s1key)",  # a call's argument
])
def test_prose_masking_leaves_words_references_variables_and_types_alone(line: str) -> None:
    assert mask_secrets(line) == line


def test_a_private_key_block_is_masked_line_by_line_keeping_its_markers() -> None:
    text = (
        "x = 1\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
        "AAAAAAAABBBB==\n-----END OPENSSH PRIVATE KEY-----\ny = 2\n"
    )
    assert mask_secrets(text) == (
        "x = 1\n-----BEGIN OPENSSH PRIVATE KEY-----\n***\n***\n-----END OPENSSH PRIVATE KEY-----\ny = 2\n"
    )


def test_a_private_key_inside_a_string_literal_is_masked() -> None:
    text = 'KEY = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAfake\\n-----END RSA PRIVATE KEY-----"\n'
    masked = mask_secrets(text)
    assert "MIIE" not in masked
    assert masked.count("\n") == 1


def test_a_private_key_without_its_end_line_is_masked_to_its_last_base64_line() -> None:
    text = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n\nx = 1\n"
    assert mask_secrets(text) == "-----BEGIN PRIVATE KEY-----\n***\n***\n\nx = 1\n"


def test_masking_never_changes_the_number_of_lines() -> None:
    lines = [line for line, _ in MASKED] + KEPT
    text = "\n".join(lines) + "\n-----BEGIN EC PRIVATE KEY-----\nAAAA\nBBBB\n-----END EC PRIVATE KEY-----\n"
    masked = mask_secrets(text)
    assert masked.count("\n") == text.count("\n")
    assert masked.splitlines()[: len(MASKED)] == [expected for _, expected in MASKED]
    assert mask_secrets(masked) == masked


def test_text_without_secrets_comes_back_unchanged_and_identical() -> None:
    text = "def add(a, b):\n    return a + b\n\nkeys = sorted(mapping)\n"
    assert mask_secrets(text) is text


def test_text_with_multi_character_lower_case_letters_is_still_masked() -> None:
    text = f"İstanbul = 1\ntoken = '{GITHUB}'\n"  # 'İ'.lower() is two characters long
    assert mask_secrets(text) == "İstanbul = 1\ntoken = '***'\n"
