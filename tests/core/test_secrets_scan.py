"""The credential scanner. Every fake credential is assembled at run time, so this file itself scans clean."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

import sophia
from sophia.errors import NotFound
from sophia.secrets import Finding, scan_path, scan_text, shannon_entropy

_RNG = random.Random(20240611)
_ALNUM = string.ascii_letters + string.digits
_FILLER = "# settings for the service\nname = 'demo'\n"  # the credential lands on line 3


def _classes(text: str) -> set[str]:
    return {"digit" if c.isdigit() else "letter" for c in text if c.isalnum()}


def _random(length: int, alphabet: str = _ALNUM) -> str:
    """Random like a real credential: every character class of `alphabet`, none of the placeholder words."""
    while True:
        value = "".join(_RNG.choice(alphabet) for _ in range(length))
        filler = any(word in value.lower() for word in ("xxxx", "test", "fake", "your", "dummy"))
        if _classes(value) == _classes(alphabet) and not filler:
            return value


def _pem() -> str:
    body = "\n".join(_random(64, _ALNUM + "+/") for _ in range(4))
    kind = "RSA " + "PRIVATE KEY"
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


# (file name, text on line 3 onwards, expected kind)
_CASES: list[tuple[str, str, str]] = [
    ("openai.py", 'OPENAI = "' + "s" + "k-proj-" + _random(48, _ALNUM + "_-") + '"\n', "openai-api-key"),
    ("openai_legacy.txt", "key " + "s" + "k-" + _random(48) + "\n", "openai-api-key"),
    (
        "anthropic.env",
        "ANTHROPIC=" + "s" + "k-ant-api03-" + _random(90, _ALNUM + "_-") + "\n",
        "anthropic-api-key",
    ),
    ("groq.toml", 'groq = "' + "gs" + "k_" + _random(52) + '"\n', "groq-api-key"),
    ("github_classic.sh", "export GH=" + "gh" + "p_" + _random(36) + "\n", "github-token"),
    ("github_oauth.json", '{"gh": "' + "gh" + "o_" + _random(36) + '"}\n', "github-token"),
    (
        "github_fine.yaml",
        "gh: " + "github" + "_pat_" + _random(22) + "_" + _random(59) + "\n",
        "github-token",
    ),
    (
        "slack.js",
        "const s = '" + "xo" + "xb-" + _random(12, string.digits) + "-" + _random(24) + "';\n",
        "slack-token",
    ),
    (
        "aws_id.cfg",
        "id " + "AK" + "IA" + _random(16, string.ascii_uppercase + string.digits) + "\n",
        "aws-access-key-id",
    ),
    (
        "aws_secret.ini",
        "aws_secret_" + "access_key = " + _random(40, _ALNUM + "+/") + "\n",
        "aws-secret-access-key",
    ),
    ("server.pem", _pem(), "private-key"),
    ("settings.py", "pass" + 'word = "' + _random(20, _ALNUM + "!@#%^&*") + '"\n', "secret-assignment"),
    ("config.yaml", "api_key: " + _random(32) + "\n", "secret-assignment"),
    (".env", "SERVICE_TOKEN=" + _random(40) + "\n", "secret-assignment"),
    ("client.json", '{"client_secret": "' + _random(30) + '"}\n', "secret-assignment"),
]


@pytest.fixture
def fixture_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for name, text, _ in _CASES:
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_FILLER + text + "more = 1\n")
    return root


@pytest.mark.parametrize(("name", "kind"), [(name, kind) for name, _, kind in _CASES])
def test_scan_finds_each_credential_kind_with_its_line(fixture_tree: Path, name: str, kind: str) -> None:
    path = fixture_tree / "pkg" / name
    assert scan_path(path) == [Finding(path, 3, kind)]


def test_scan_of_a_tree_finds_one_finding_per_file(fixture_tree: Path) -> None:
    findings = scan_path(fixture_tree)
    assert sorted((f.path.name, f.line, f.kind) for f in findings) == sorted(
        (name, 3, kind) for name, _, kind in _CASES
    )


def test_findings_never_carry_the_value(fixture_tree: Path) -> None:
    for finding in scan_path(fixture_tree):
        text = repr(finding) + str(finding.__dict__)
        for _, case_text, _ in _CASES:
            secret_part = case_text.strip().split()[-1].strip("'\";{}")[-16:]
            assert secret_part not in text


def test_specific_kind_wins_over_generic_assignment(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text('api_key = "' + "s" + "k-proj-" + _random(48) + '"\n')
    assert scan_path(path) == [Finding(path, 1, "openai-api-key")]


_PLACEHOLDERS = """\
OPENAI_API_KEY=sk-...
OPENAI_API_KEY=your-key-here
api_key = "env:OPENAI_API_KEY"
token = "secret:github"
db_password: "file:/run/secrets/db"
token: "xxxxxxxxxxxxxxxxxxxx"
key = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
gh = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
aws = "AKIAIOSFODNN7EXAMPLE"
password = "<your password here>"
password = "${DB_PASSWORD}"
password = settings.db_password
token = get_token(user)
api_key: SecretRef | None = None
secret_key: bytes = os.urandom(32)
token_url = "https://example.com/oauth/token"
key_file = "/etc/sophia/vault.key"
"pem": "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----"
TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
EXPIRED_TOKEN = "expired_token_reason"
password = "hunter2"
api_key = "sk-literal-secret-value"
api_key = "sk-abcdefghijklmnopqrstuvwxyz0123456789"
OPENAI_API_KEY = "sk-should-not-leak-123456"
subject = {"subject_token_type": _X509_SUBJECT_TOKEN_TYPE}
ADMIN_PASSWORD = "admin-password-123"
"""


def test_placeholders_and_references_are_not_findings(tmp_path: Path) -> None:
    path = tmp_path / "examples.py"
    path.write_text(_PLACEHOLDERS)
    assert scan_path(path) == []


@pytest.mark.parametrize("folder", [".git", ".venv", "node_modules", "__pycache__"])
def test_scan_skips_vcs_virtualenv_and_cache_folders(tmp_path: Path, folder: str) -> None:
    hidden = tmp_path / folder / "sub" / "leak.txt"
    hidden.parent.mkdir(parents=True)
    hidden.write_text("gh" + "p_" + _random(36) + "\n")
    assert scan_path(tmp_path) == []
    assert scan_path(hidden) != []  # an explicit file is always scanned


def test_scan_skips_binary_and_large_files(tmp_path: Path) -> None:
    token = ("gh" + "p_" + _random(36)).encode()
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01binary " + token)
    (tmp_path / "huge.log").write_bytes(b"a" * (2 * 1024 * 1024) + b"\n" + token)
    assert scan_path(tmp_path) == []


def test_scan_of_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        scan_path(tmp_path / "absent")


def test_shannon_entropy_orders_random_above_repetitive() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaaaaaa") == 0.0
    assert shannon_entropy("abcdabcd") == pytest.approx(2.0)
    assert shannon_entropy(_random(40)) > 4.0


def test_low_entropy_assignment_is_not_a_finding() -> None:
    assert scan_text('password = "ab12ab12ab12ab12ab"\n', Path("x")) == []


def test_project_sources_and_tests_scan_clean() -> None:
    """Test fixtures build fake credentials at run time; a literal one here fails the suite."""
    assert scan_path(Path(sophia.__file__).parent) == []
    assert scan_path(Path(__file__).parents[1]) == []
