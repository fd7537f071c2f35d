"""Milvus at scale: load N synthetic clauses through the Milvus store and report insert rate,
hybrid query p50/p95 and dense recall@10 against exact search.

    python bench/milvus_scale.py                       # 1,000,000 clauses into Milvus Lite under /tmp
    python bench/milvus_scale.py --n 100000 --index FLAT
    python bench/milvus_scale.py --uri http://host:19530 --token user:pw   # a Milvus server or cluster

The clauses are synthetic so the bench needs no corpus of that size: texts are 12–30 words drawn
from the bundled corpus's own vocabulary (so jieba and BM25 see real words), vectors are 384-d
points around 2,000 topic centres (so nearest neighbours are not trivially random).  Rows go in
through the store's own schema and batching; queries go through ``MilvusStore.dense`` / ``hybrid``,
the calls retrieval makes.  Recall@10 compares the dense leg with exact inner-product search in numpy.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.config import StoreConfig, load_config  # noqa: E402
from rag.progress import track  # noqa: E402
from rag.store.milvus_store import MilvusStore  # noqa: E402

DIM = 384


class GivenVectors:
    """The store's embedder slot for a bench: the vectors are made here, nothing is embedded."""

    id, dim = "synthetic-384", DIM

    def embed_passages(self, texts):  # the store embeds only on rebuild/upsert, which the bench bypasses
        raise RuntimeError("synthetic bench: rows carry their vectors")

    def embed_queries(self, texts):
        raise RuntimeError("synthetic bench: queries carry their vectors")


def vocabulary(corpus: str) -> list[str]:
    import jieba

    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in Path(corpus).glob("*.txt"))
    words = {w for w in jieba.lcut(text) if re.fullmatch(r"[\u4e00-\u9fff]{2,6}", w)}
    return sorted(words)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="synthetic clauses (default 1,000,000)")
    ap.add_argument("--uri", default="", help="Milvus URI (default: a fresh Milvus Lite folder under /tmp)")
    ap.add_argument("--token", default="")
    ap.add_argument("--index", choices=("HNSW", "FLAT"), default="HNSW")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--batch", type=int, default=5000, help="rows per insert call")
    args = ap.parse_args()

    rng = np.random.default_rng(7)
    words = vocabulary(load_config().corpus)
    centres = rng.standard_normal((2000, DIM)).astype(np.float32)
    uri = args.uri or str(Path(tempfile.mkdtemp(prefix="milvus-scale-")) / "scale")
    cfg = StoreConfig(backend="milvus", uri=uri, token=args.token, collection="scale_bench", dense_index=args.index,
                      insert_batch=args.batch)
    store = MilvusStore.open(cfg, GivenVectors(), create=True)  # type: ignore[arg-type]
    store.rebuild([], [])  # an empty collection behind the alias, with the store's schema and indexes
    target = store._target()
    assert target is not None

    vectors = np.empty((args.n, DIM), np.float32)
    topic = rng.integers(0, len(centres), args.n)
    started = time.perf_counter()
    for start in track(range(0, args.n, args.batch), (args.n + args.batch - 1) // args.batch, "insert", unit="batch"):
        stop = min(start + args.batch, args.n)
        v = centres[topic[start:stop]] + 0.6 * rng.standard_normal((stop - start, DIM)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        vectors[start:stop] = v
        rows = []
        for i in range(start, stop):
            text = "".join(rng.choice(words, rng.integers(12, 31)))
            rows.append({"id": f"c{i:08d}", "kind": "chunk", "doc_id": f"d{i // 20:07d}", "chunk_id": f"c{i:08d}",
                         "ordinal": i % 20, "source_file": f"synthetic/{i // 2000:04d}.txt", "content_key": "",
                         "text": text, "record": json.dumps({"chunk_id": f"c{i:08d}", "text": text}, ensure_ascii=False),
                         "vector": vectors[i].tolist()})
        store._write(target, rows, upsert=False)  # the store's own batched insert
    inserted = time.perf_counter() - started
    t0 = time.perf_counter()
    store.client.flush(target)
    store.client.load_collection(target)
    flushed = time.perf_counter() - t0

    hybrid_ms, dense_ms, recall = [], [], []
    for q in track(range(args.queries), args.queries, "queries", unit="query"):
        c = int(rng.integers(0, len(centres)))
        qvec = centres[c] + 0.6 * rng.standard_normal(DIM).astype(np.float32)
        qvec /= np.linalg.norm(qvec)
        text = " ".join(rng.choice(words, 3))
        t = time.perf_counter()
        store.hybrid(text, qvec, 10)
        hybrid_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        got = store.dense(qvec, 10).ids
        dense_ms.append((time.perf_counter() - t) * 1000)
        exact = np.argpartition(-(vectors @ qvec), 10)[:10]
        recall.append(len({f"c{i:08d}" for i in exact} & set(got)) / 10)

    print(f"milvus store at {store.uri} ({'server' if args.uri else 'Milvus Lite'}), dense index {args.index}, "
          f"{args.n:,} clauses × {DIM}-d + BM25 (jieba)")
    print(f"insert: {inserted:.1f} s = {args.n / inserted:,.0f} clauses/s; flush + load {flushed:.1f} s")
    for name, ms in (("hybrid (dense + BM25, RRF)", hybrid_ms), ("dense", dense_ms)):
        print(f"{name} query: p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms "
              f"({args.queries} queries)")
    print(f"dense recall@10 vs exact search: {np.mean(recall):.3f}")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
