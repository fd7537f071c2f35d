"""Load check for the Gradio chat: N concurrent sessions × M questions, latency percentiles.

Each session is a fresh ``gradio_client.Client`` (its own Gradio session, so its own
conversation state) calling the same ``/chat`` endpoint the page uses, streamed to the end.
Without ``--url`` it starts ``policy-rag serve`` itself on a free loopback port over the
configured index (``policy-rag index build data/corpus`` first) and stops it afterwards.

    .venv/bin/python bench/load.py                      # 10 sessions × 5 questions
    .venv/bin/python bench/load.py --url http://127.0.0.1:7860/ --sessions 20

Exit status 1 if any request failed.  Not a timed test: the figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from ui.app import EXAMPLES  # noqa: E402  (after the env: importing gradio reads it)

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = EXAMPLES + (  # the page's own example questions, plus two more from the corpus
    "浙江省“415X”先进制造业集群建设的主要目标是什么？",
    "促进外贸回稳向好有哪些措施？",
)


@dataclass
class SessionResult:
    latencies: list[float] = field(default_factory=list)  # question sent → final answer
    first_update: list[float] = field(default_factory=list)  # question sent → first streamed update
    errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, timeout: float = 300.0) -> subprocess.Popen[bytes]:
    """``policy-rag serve`` in a subprocess; returns once the page answers HTTP 200."""
    cmd = [sys.executable, "-c", "from rag.cli import main; raise SystemExit(main())",
           "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=REPO)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with status {proc.returncode} (is the index built?)")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"server did not answer within {timeout:.0f} s")


def run_session(url: str, n: int, questions: int) -> SessionResult:
    """One user: a fresh client, ``questions`` questions in one conversation, one after another."""
    from gradio_client import Client

    res = SessionResult()
    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # a failed connection is a failed session, reported, not raised
        res.errors.append(f"session {n}: connect: {exc}")
        return res
    for i in range(questions):
        q = QUESTIONS[(n + i) % len(QUESTIONS)]
        t0 = time.perf_counter()
        try:
            job = client.submit(q, [], "全部", "全部", "全部", api_name="/chat")
            first = None
            for _ in job:
                first = first or time.perf_counter() - t0
            out = job.result()
            elapsed = time.perf_counter() - t0
            chat = out[0] if isinstance(out, (list, tuple)) else out
            reply = str(chat[-1]["content"]) if chat else ""
            if "prag-answer" not in reply:
                res.errors.append(f"session {n} q{i}: no answer: {reply[:120]!r}")
                continue
            res.latencies.append(elapsed)
            res.first_update.append(first or elapsed)
        except Exception as exc:
            res.errors.append(f"session {n} q{i}: {type(exc).__name__}: {exc}")
    return res


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running server (default: start `policy-rag serve` on a free port)")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--questions", type=int, default=5)
    args = ap.parse_args(argv)

    proc = None
    url = args.url
    if not url:
        port = _free_port()
        print(f"starting policy-rag serve on 127.0.0.1:{port} …", flush=True)
        proc = start_server(port)
        url = f"http://127.0.0.1:{port}/"
    try:
        # one warm-up question so model loading is not counted as user latency
        warm = run_session(url, 0, 1)
        if warm.errors:
            print("warm-up failed:", *warm.errors, sep="\n  ")
            return 1
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.sessions) as pool:
            results = list(pool.map(lambda n: run_session(url, n, args.questions), range(args.sessions)))
        wall = time.perf_counter() - t0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    lat = [x for r in results for x in r.latencies]
    first = [x for r in results for x in r.first_update]
    errors = [e for r in results for e in r.errors]
    total = args.sessions * args.questions
    print(f"\n{args.sessions} sessions × {args.questions} questions = {total} requests in {wall:.1f} s "
          f"({len(lat) / wall:.2f} answers/s), errors: {len(errors)}")
    print(f"latency to final answer: p50 {_pct(lat, 50):.2f} s · p95 {_pct(lat, 95):.2f} s · "
          f"max {max(lat, default=float('nan')):.2f} s · mean {statistics.fmean(lat) if lat else float('nan'):.2f} s")
    print(f"latency to first update: p50 {_pct(first, 50):.2f} s · p95 {_pct(first, 95):.2f} s")
    for e in errors[:20]:
        print("  error:", e)
    return 1 if errors or len(lat) != total else 0


if __name__ == "__main__":
    raise SystemExit(main())
