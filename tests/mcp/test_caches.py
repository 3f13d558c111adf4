"""The MCP side's in-process caches (outline reshapes and fits, working-set summaries) on a real
engine and real files: keyed by what the answer was built from, so an edit is never served stale,
and a file the workspace names is confined like any other (symlinks out, secrets)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from smartcache_ls.engine import Engine
from smartcache_ls.mcp import budget, queries, summaries, tools
from smartcache_ls.mcp.backend import Backend, ToolFailure
from smartcache_ls.paths import path_to_uri
from smartcache_ls.workspace import Workspace
from tests.e2e.test_confinement import _renameat2_works, swapping


@pytest.fixture
def backend(workspace: Path, tmp_path: Path) -> Iterator[Backend]:
    b = Backend(Path(os.path.realpath(workspace)), tmp_path / "cache")
    yield b
    b.close()


@pytest.fixture
def swap_ok(tmp_path: Path) -> None:
    if not _renameat2_works(tmp_path):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")


def summary(engine: Engine, ws: Workspace, rel: str) -> str:
    return summaries.file_summary(engine, ws, rel, summaries.Walk(ws.root))


def _edit(path: Path, text: str) -> None:
    st = path.stat()
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))  # a new mtime, whatever the clock


def test_summary_follows_an_edit_on_disk(backend: Backend) -> None:
    engine, ws = backend.engine(), queries.workspace_of(backend.engine(), backend.root)
    first = summary(engine, ws, "util.py")
    assert first == summary(engine, ws, "util.py")
    assert "function helper" in first and "1 more" not in first
    _edit(backend.root / "util.py", "import os\n\n\nclass Fresh:\n    pass\n")
    second = summary(engine, ws, "util.py")
    assert "class Fresh" in second and "1 imports" in second and "helper" not in second


def test_summary_of_a_symlink_out_of_the_workspace_is_refused(backend: Backend, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("def leaked():\n    pass\n")
    (backend.root / "link.py").symlink_to(outside)
    (backend.root / "inner.py").symlink_to(backend.root / "util.py")
    (backend.root / ".env").write_text("TOKEN=1\n")
    engine, ws = backend.engine(), queries.workspace_of(backend.engine(), backend.root)
    assert summary(engine, ws, "link.py") == "not readable: outsideWorkspace"
    assert summary(engine, ws, ".env") == "not readable: secret"
    assert "function helper" in summary(engine, ws, "inner.py")  # a link inside: resolved


def test_summary_follows_the_editor_buffer(backend: Backend) -> None:
    engine, ws = backend.engine(), queries.workspace_of(backend.engine(), backend.root)
    uri = path_to_uri(backend.root / "util.py")
    assert "function helper" in summary(engine, ws, "util.py")
    engine.did_open(uri, "class Buffered:\n    pass\n", 1)
    assert "class Buffered" in summary(engine, ws, "util.py")
    engine.did_change(uri, "import os\n\n\ndef changed():\n    pass\n", 2)
    changed = summary(engine, ws, "util.py")
    assert "function changed" in changed and "1 imports" in changed
    assert changed == summary(engine, ws, "util.py")
    engine.did_close(uri)
    assert "function helper" in summary(engine, ws, "util.py")  # the disk again


def test_summaries_never_describe_a_folder_swapped_in_from_outside(tmp_path: Path, swap_ok: None) -> None:
    """A folder the predictor names swapped again and again for a symlink to a folder outside
    (files of the same sizes and mtimes there) while summaries are asked: the quick confinement
    and the state keys never let outside content in."""
    ws, out = Path(os.path.realpath(tmp_path)) / "ws", Path(os.path.realpath(tmp_path)) / "outside"
    (ws / "sub").mkdir(parents=True)
    out.mkdir()
    rels = [f"sub/f{i:02}.py" for i in range(12)]
    for i, rel in enumerate(rels):
        (ws / rel).write_text(f"def inside_{i:02}():\n    pass\n")
        (out / rel[4:]).write_text(f"def outside{i:02}():\n    pass\n")
        st = (ws / rel).stat()
        os.utime(out / rel[4:], ns=(st.st_atime_ns, st.st_mtime_ns))
    (ws / "sub.swap").symlink_to(out, target_is_directory=True)
    b = Backend(ws, tmp_path / "cache")
    try:
        engine = b.engine()
        space = queries.workspace_of(engine, ws)
        answers: list[str] = []
        with swapping([(ws / "sub", ws / "sub.swap")]) as swaps:
            rounds, deadline = 0, time.monotonic() + 20
            seen_both = False  # both sides of the race (on a loaded machine one can take rounds)
            while (rounds < 8 or swaps[0] < 100 or not seen_both) and time.monotonic() < deadline:
                rounds += 1
                walk = summaries.Walk(ws)
                answers += [summaries.file_summary(engine, space, rel, walk) for rel in rels]
                engine.clear("all")
                summaries.forget()
                seen_both = any("function inside_" in a for a in answers) and any(
                    a.startswith("not readable") for a in answers
                )
        assert swaps[0] >= 100, "the swapper hardly ran"
    finally:
        b.close()
    assert not [a for a in answers if "function outside" in a]
    inside = [a for a in answers if "function inside_" in a]
    refused = {a for a in answers if a.startswith("not readable")}
    assert inside and refused, (len(inside), refused)  # the race was really run
    assert len(inside) + sum(a.startswith("not readable") for a in answers) == len(answers)
    assert refused <= {f"not readable: {r}" for r in ("outsideWorkspace", "symlinkRace", "notFound")}, refused


def test_outline_follows_an_edit_on_disk(backend: Backend) -> None:
    tools.outline(backend, "util.py", tools.OUTLINE_TOKENS)  # computed; then from memory
    first = tools.outline(backend, "util.py", tools.OUTLINE_TOKENS)
    assert [s["name"] for s in first["symbols"]] == ["helper"] and first["source"] == "memory"
    assert tools.outline(backend, "util.py", tools.OUTLINE_TOKENS) is first  # warm: the fitted answer
    _edit(backend.root / "util.py", "def renamed(x):\n    return x\n\n\ndef other():\n    pass\n")
    deadline = time.monotonic() + 5
    second = tools.outline(backend, "util.py", tools.OUTLINE_TOKENS)
    while second["hash"] == first["hash"] and time.monotonic() < deadline:
        time.sleep(0.05)
        second = tools.outline(backend, "util.py", tools.OUTLINE_TOKENS)
    assert [s["name"] for s in second["symbols"]] == ["renamed", "other"]
    small = tools.outline(backend, "util.py", 100)  # another budget is fitted on its own
    assert small is not second and small["hash"] == second["hash"]


def test_working_set_text_is_the_fitted_answer_whether_passed_on_or_cut(backend: Backend) -> None:
    engine = backend.engine()
    names = sorted(p.name for p in backend.root.glob("*.py"))
    for i, name in enumerate(names * 2):  # switches: a current file, predictions, open buffers
        engine.did_open(path_to_uri(backend.root / name), (backend.root / name).read_text(), i)
    whole = tools.working_set_text(backend, 5, tools.WORKING_SET_TOKENS)  # passed on as encoded
    answer = orjson.loads(whole)
    assert list(answer) == ["session", "current", "files", "open", "truncated"]
    assert answer["truncated"] is False and answer["session"] == "standalone"
    assert answer["current"] == names[-1] and len(answer["files"]) > 1
    assert [d["path"] for d in answer["open"]] == names
    # what fitting the same content to the budget makes of it, byte for byte
    content = {k: answer[k] for k in ("current", "files", "open")}
    assert orjson.dumps(tools.fit_working_set(backend, content, tools.WORKING_SET_TOKENS)).decode() == whole
    cut = tools.working_set_text(backend, 5, 100)  # decoded and fitted
    small = orjson.loads(cut)
    assert small["truncated"] is True and small["omitted"]["files"] + small["omitted"]["open"] > 0
    assert small["files"][0]["path"] == names[-1] and len(cut) <= 100 * budget.CHARS_PER_TOKEN


def test_a_warm_outline_follows_the_buffer_and_refuses_a_link_swapped_in(
    backend: Backend, tmp_path: Path
) -> None:
    engine, uri = backend.engine(), path_to_uri(backend.root / "util.py")
    for _ in range(3):  # computed, then from memory, then kept under the file's state
        warm = tools.outline(backend, "util.py", tools.OUTLINE_TOKENS)
    assert warm["source"] == "memory" and [s["name"] for s in warm["symbols"]] == ["helper"]
    engine.did_open(uri, "def in_buffer():\n    pass\n", 1)
    assert [s["name"] for s in tools.outline(backend, "util.py", 4000)["symbols"]] == ["in_buffer"]
    engine.did_change(uri, "def edited():\n    pass\n", 2)
    assert [s["name"] for s in tools.outline(backend, "util.py", 4000)["symbols"]] == ["edited"]
    engine.did_close(uri)
    again = tools.outline(backend, "util.py", 4000)  # the disk's state: the warm answer, not the buffer's
    assert [s["name"] for s in again["symbols"]] == ["helper"] and again["hash"] == warm["hash"]
    outside = tmp_path / "outside.py"
    outside.write_bytes((backend.root / "util.py").read_bytes())  # the same content, out of bounds
    (backend.root / "util.py").unlink()
    (backend.root / "util.py").symlink_to(outside)
    with pytest.raises(ToolFailure) as refused:
        tools.outline(backend, "util.py", 4000)
    assert refused.value.reason == "outsideWorkspace"


def test_an_outline_over_budget_keeps_every_top_level_name_then_leading_children(backend: Backend) -> None:
    methods = "".join(
        f"    public int method{i}(int a) {{\n        return a + {i};\n    }}\n" for i in range(60)
    )
    (backend.root / "Big.java").write_text(f"import java.util.List;\n\npublic class Big {{\n{methods}}}\n")
    whole = tools.outline(backend, "Big.java", budget.MAX_TOKENS)
    assert whole["truncated"] is False and len(whole["symbols"][0]["children"]) == 60
    for max_tokens in (300, 800, 1500):
        cut = tools.outline(backend, "Big.java", max_tokens)
        big = cut["symbols"][0]
        assert cut["truncated"] is True and len(orjson.dumps(cut)) <= max_tokens * budget.CHARS_PER_TOKEN
        # one class: its leading methods, not an empty shell
        assert (
            0 < len(big["children"]) < 60
            and big["children"] == whole["symbols"][0]["children"][: len(big["children"])]
        )
        assert big["childrenOmitted"] == cut["omitted"]["children"] == 60 - len(big["children"])
    # within budget down to the smallest one accepted, with a long path in the answer's header
    deep = backend.root / "src/main/java/org/example/with/a/long/package/path"
    deep.mkdir(parents=True)
    (deep / "Big.java").write_text((backend.root / "Big.java").read_text())
    rel = str((deep / "Big.java").relative_to(backend.root))
    for max_tokens in range(100, 1600, 50):
        cut = tools.outline(backend, rel, max_tokens)
        assert len(orjson.dumps(cut)) <= max_tokens * budget.CHARS_PER_TOKEN, max_tokens
        kept = [len(s["children"]) for s in cut["symbols"]]
        assert cut["truncated"] is True and cut["omitted"]["symbols"] + len(kept) == 1
        assert cut["omitted"]["children"] + sum(kept) == (60 if kept else 0)
    # a big class first does not crowd out the names after it: every top-level name first
    funcs = "".join(f"def function_{i}():\n    return {i}\n\n\n" for i in range(20))
    body = "".join(f"    def method_{i}(self):\n        return {i}\n\n" for i in range(80))
    (backend.root / "mixed.py").write_text(f"class First:\n{body}\n\n{funcs}")
    cut = tools.outline(backend, "mixed.py", 1200)
    assert [s["name"] for s in cut["symbols"]] == ["First", *(f"function_{i}" for i in range(20))]
    first = cut["symbols"][0]
    assert 0 < len(first["children"]) < 80 and first["childrenOmitted"] == 80 - len(first["children"])
    assert cut["omitted"] == {**cut["omitted"], "symbols": 0, "children": first["childrenOmitted"]}
    assert len(orjson.dumps(cut)) <= 1200 * budget.CHARS_PER_TOKEN


def test_read_file_is_within_budget_or_says_what_budget_it_needs(backend: Backend) -> None:
    deep = backend.root / "src/main/java/org/example/with/a/long/package/path"
    deep.mkdir(parents=True)
    text = "".join(f"    int field{i} = {i}; // {'x' * (i % 50)}\n" for i in range(300))
    (deep / "Fields.java").write_text(text)
    rel = str((deep / "Fields.java").relative_to(backend.root))
    answered = 0
    for max_tokens in range(100, 700, 10):
        try:
            cut = tools.read_file(backend, rel, None, None, max_tokens)
        except ToolFailure as exc:  # the fields alone fill the budget: an error, not an empty text
            assert exc.reason == "invalidParams" and "raise maxTokens" in exc.message
            assert not answered, "a larger budget was refused after a smaller one answered"
            continue
        answered += 1
        assert len(orjson.dumps(cut)) <= max_tokens * budget.CHARS_PER_TOKEN, max_tokens
        assert cut["truncated"] is True and cut["text"] and text.startswith(cut["text"])
        assert cut["omitted"]["nextStartLine"] == cut["endLine"] + 1 or "charactersOfLine" in cut["omitted"]
    assert answered > 50
    whole = tools.read_file(backend, rel, None, None, budget.MAX_TOKENS)
    assert whole["truncated"] is False and whole["text"] == text and "omitted" not in whole
