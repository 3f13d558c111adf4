"""Predictions do not depend on the process's string hash seed (ties break the same way)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json, random
from smartcache_ls.predict.model import Predictor
rng = random.Random(3)
names = [f"pkg{i % 5}/{w}_{i}.py" for i, w in enumerate(["model", "view", "test_model", "util"] * 30)]
model = Predictor()
out = []
for step in range(600):
    path = names[rng.randrange(len(names))] if rng.random() < 0.4 else names[step % 17]
    model.observe(path, float(step))
    out.append([(p.path, round(p.probability, 12), p.reason) for p in model.predict(5, current=path)])
print(json.dumps(out))
"""


def run(seed: str) -> list[object]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    result: list[object] = json.loads(done.stdout)
    return result


def test_same_predictions_under_different_hash_seeds() -> None:
    first = run("1")
    assert first and any(step for step in first)
    assert run("2") == first
    assert run("12345") == first


def test_unexplained_ranking_equals_the_explained_one() -> None:
    from smartcache_ls.predict.model import Predictor

    model = Predictor()
    for step, path in enumerate(["a.py", "b.py", "c.py", "a.py", "b.py", "a.py", "c.py", "a.py"]):
        model.observe(path, float(step))
    explained = model.predict(3, current="a.py")
    bare = model.predict(3, current="a.py", explain=False)
    assert [(p.path, p.probability) for p in bare] == [(p.path, p.probability) for p in explained]
    assert all(p.reason == "" for p in bare) and all(p.reason for p in explained)
