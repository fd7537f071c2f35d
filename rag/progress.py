"""Progress for every step that can take more than a couple of seconds: one implementation.

On a terminal it is a tqdm bar (count, rate, ETA); otherwise (CI logs, pipes) a plain line every
``every`` seconds and one at the end, so a long step is never silent and a log stays readable.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

T = TypeVar("T")


def track(items: Iterable[T], total: int, desc: str, stream: TextIO | None = None, every: float = 5.0,
          unit: str = "it") -> Iterator[T]:
    """Yield ``items`` while reporting progress on ``stream`` (stderr by default)."""
    stream = stream or sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        from tqdm import tqdm

        yield from tqdm(items, total=total, desc=desc, file=stream, unit=unit, dynamic_ncols=True)
        return
    start = last = time.perf_counter()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.perf_counter()
        if now - last >= every and done < total:
            rate = done / (now - start)
            eta = (total - done) / rate if rate else float("inf")
            print(f"{desc}: {done}/{total} {unit} ({rate:.1f}/s, about {eta:.0f} s left)", file=stream, flush=True)
            last = now
    elapsed = time.perf_counter() - start
    if elapsed >= every:  # short steps stay quiet: their result line follows at once
        print(f"{desc}: {done}/{total} {unit} in {elapsed:.1f} s", file=stream, flush=True)


@contextmanager
def heartbeat(desc: str, stream: TextIO | None = None, every: float = 3.0) -> Iterator[None]:
    """A line every ``every`` seconds while a step with no count runs (importing gradio in a fresh venv)."""
    stream = stream or sys.stdout
    done = threading.Event()
    start = time.perf_counter()

    def beat() -> None:
        while not done.wait(every):
            print(f"{desc}: still working ({time.perf_counter() - start:.0f} s)", file=stream, flush=True)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
