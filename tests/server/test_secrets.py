"""Secret files: matched by gitignore-style patterns, kept out of the index, the watcher's and
the resolver's view, the predictor and every request; the pattern list is a setting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pathspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcache_ls.engine import Engine
from smartcache_ls.ignore import IgnoreRules, scan_files
from smartcache_ls.paths import PathRefused, confine, path_to_uri
from smartcache_ls.protocol import decoded
from smartcache_ls.secrets import DEFAULT_PATTERNS, DEFAULT_SECRETS, SecretPatterns
from smartcache_ls.settings import Settings

from ..conftest import make_workspace

SECRETS = [
    ".env",
    ".env.local",
    "deploy/.env.production",
    "prod.env",
    ".netrc",
    ".npmrc",
    "web/.npmrc",
    ".pypirc",
    ".git-credentials",
    "credentials",
    "aws/credentials.json",
    "tls/server.pem",
    "tls/server.key",
    "cert.p12",
    "cert.pfx",
    "android/release.keystore",
    "app.jks",
    "id_rsa",
    "keys/id_rsa.pub",
    "id_ed25519",
    ".ssh/config",
    "home/.ssh/known_hosts",
    ".aws/config",
    ".gnupg/pubring.kbx",
]
ORDINARY = [
    "app.py",
    "environment.py",
    "src/env/settings.py",
    "docs/keys.md",
    "keyboard.c",
    "pem.py",
    "README.md",
    "ssh/client.go",
    "my_credentials_test.go",
    "id.py",
]


def test_default_patterns_cover_the_usual_secret_files() -> None:
    assert [p for p in SECRETS if not DEFAULT_SECRETS.matches(p)] == []
    assert [p for p in ORDINARY if DEFAULT_SECRETS.matches(p)] == []
    assert DEFAULT_SECRETS.matches(".ssh", is_dir=True) and not DEFAULT_SECRETS.matches("src", is_dir=True)


_NAME = st.sampled_from(
    [
        ".env",
        ".env.x",
        "a.env",
        "x.pem",
        "id_rsa",
        "id_rsa.pub",
        ".ssh",
        ".aws",
        "credentials.txt",
        "src",
        "a.py",
        "key",
        "x.key",
        "pem",
        ".netrc",
        "env",
        "keys",
        "b",
    ]
)


@given(parts=st.lists(_NAME, min_size=1, max_size=4), is_dir=st.booleans())
def test_the_combined_matcher_agrees_with_pathspec(parts: list[str], is_dir: bool) -> None:
    rel = "/".join(parts)
    spec = pathspec.GitIgnoreSpec.from_lines(DEFAULT_PATTERNS)
    assert DEFAULT_SECRETS.matches(rel, is_dir) == spec.match_file(rel + "/" if is_dir else rel)


def test_answers_kept_are_the_same_answers_and_bounded() -> None:
    from smartcache_ls import secrets

    patterns = SecretPatterns()
    paths = [*SECRETS, "src/app.py", "src/.env.example/x.py", "keys/", "notes.txt"]
    first = [(patterns.matches(p), patterns.matches(p, is_dir=True)) for p in paths]
    again = [(patterns.matches(p), patterns.matches(p, is_dir=True)) for p in paths]
    spec = pathspec.GitIgnoreSpec.from_lines(DEFAULT_PATTERNS)
    assert first == again == [(spec.match_file(p), spec.match_file(p + "/")) for p in paths]
    assert sum(a for a, _ in first) >= len(SECRETS)
    for i in range(secrets.KNOWN_ANSWERS + 10):
        assert patterns.matches(f"src/f{i}.py") is False
    assert len(patterns._known) <= secrets.KNOWN_ANSWERS
    assert patterns.matches(".env") is True and patterns.matches(".env", is_dir=True) is True


def test_negations_and_replacement_lists() -> None:
    custom = SecretPatterns(["*.pem", "!public.pem", "vault/"])
    assert custom.matches("a/private.pem") and not custom.matches("a/public.pem")
    assert custom.matches("vault/x.txt") and not custom.matches(".env")
    assert not SecretPatterns([]).matches(".env")


def test_secret_patterns_setting_replaces_the_default_and_refuses_bad_lists() -> None:
    settings, problems = Settings().merged({"secretPatterns": ["*.vault", "private/"]})
    assert problems == [] and settings.secret_patterns == ("*.vault", "private/")
    assert Settings().secret_patterns == DEFAULT_PATTERNS
    for bad in ("*.pem", [1, 2], ["!"], ["x" * 5000], ["*"] * 2000):
        kept, problems = Settings().merged({"secretPatterns": bad})
        assert kept.secret_patterns == DEFAULT_PATTERNS and len(problems) == 1, bad


def test_confine_refuses_a_secret_by_its_name_or_by_what_it_links_to(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "conf").mkdir(parents=True)
    (root / ".env").write_text("TOKEN=s3cr3t\n")
    (root / "settings.txt").symlink_to(root / ".env")
    (root / "conf" / "id_rsa").symlink_to(root / "conf" / "plain.txt")
    (root / "conf" / "plain.txt").write_text("x\n")
    for name in (".env", "settings.txt", "conf/id_rsa", "missing.pem"):
        with pytest.raises(PathRefused) as info:
            confine(path_to_uri(root / name), root)
        assert info.value.reason == "secret", name
    assert confine(path_to_uri(root / "conf" / "plain.txt"), root)[1] == "conf/plain.txt"
    assert confine(path_to_uri(root / ".env"), root, SecretPatterns([]))[1] == ".env"


def test_scan_and_ignore_rules_leave_secrets_out(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    for rel in SECRETS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("SECRET\n")
    files = scan_files(root, IgnoreRules(root))
    assert "app.py" in files and [f for f in files if DEFAULT_SECRETS.matches(f)] == []
    everything = scan_files(root, IgnoreRules(root, secrets=SecretPatterns([])))
    assert set(SECRETS) <= set(everything)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine(Settings(), tmp_path / "cache", watch=False)
    yield eng
    eng.close()


def test_engine_refuses_secrets_and_forgets_them_when_the_patterns_change(
    engine: Engine, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / ".env").write_text("TOKEN=s3cr3t\n")
    (root / "notes.vault").write_text("VAULT\n")
    engine.add_folder(path_to_uri(root))
    for call in (engine.get_file, engine.get_analysis, lambda uri: engine.prefetch([uri])):
        with pytest.raises(PathRefused) as info:
            call(path_to_uri(root / ".env"))
        assert info.value.reason == "secret"
    engine.did_open(path_to_uri(root / ".env"), "TOKEN=s3cr3t\n", 1)  # ignored, not kept
    ws = engine.workspace_for(path_to_uri(root / "app.py"))[0]
    deadline = time.monotonic() + 10
    while "models.py" not in ws.known_files and time.monotonic() < deadline:
        time.sleep(0.01)  # the background index has run
    assert "models.py" in ws.known_files and "notes.vault" in ws.known_files
    assert ".env" not in ws.open_docs and ".env" not in ws.known_files

    vault = path_to_uri(root / "notes.vault")
    engine.did_open(vault, "VAULT\n", 1)
    engine.did_open(path_to_uri(root / "app.py"), "x = 1\n", 1)
    engine.did_focus(vault)
    assert decoded(engine.get_file(vault))["text"] == "VAULT\n"
    assert any(p.uri == vault for p in engine.predict(path_to_uri(root / "app.py"), 5))
    engine.apply_settings(Settings(secret_patterns=("*.vault",)))
    assert "notes.vault" not in ws.open_docs and "notes.vault" not in ws.known_files
    assert not any(p.uri == vault for p in engine.predict(path_to_uri(root / "app.py"), 5))
    with pytest.raises(PathRefused) as info:
        engine.get_file(vault)
    assert info.value.reason == "secret"
    assert decoded(engine.get_file(path_to_uri(root / ".env")))["text"] == "TOKEN=s3cr3t\n"  # not listed now


@given(parts=st.lists(_NAME, min_size=1, max_size=5), is_dir=st.booleans())
def test_the_per_folder_matcher_agrees_with_pathspec_for_any_list(parts: list[str], is_dir: bool) -> None:
    from smartcache_ls.pathmatch import PathMatcher

    rel = "/".join(parts)
    for lines in (["*.pem", "keys/", "src"], ["/src", "a/**/b", "*.key"], ["*.py", "!a.py"], ["**"]):
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        assert PathMatcher(spec)(rel, is_dir) == spec.match_file(rel + "/" if is_dir else rel), lines


def test_a_path_thousands_of_folders_deep_is_matched_without_recursion() -> None:
    deep = "/".join(["d"] * 5000)
    assert not DEFAULT_SECRETS.matches(deep + "/x.py")
    assert DEFAULT_SECRETS.matches(deep + "/.ssh/config") and DEFAULT_SECRETS.matches(deep + "/.env")
