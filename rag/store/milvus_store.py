"""Milvus as the store: the same ``MilvusClient`` code embedded (Milvus Lite) or on a server/cluster by URI.

One collection holds four kinds of rows, so a rebuild switches one alias and readers see the old
data or the new, never a mix:

- ``chunk``: a clause; ``vector`` its embedding, ``text`` its folded path + text, which a BM25
  ``Function`` (jieba analyzer) turns into ``sparse`` for the keyword leg; ``record`` its JSON;
- ``unit``: one quotable sentence unit of a clause (``chunk_id``, ``ordinal``) with its vector;
- ``doc``: a document record with its content key (to recognise a re-upload under another name);
- ``manifest``: embedder, chunker and format the rows were written with.

Filters are resolved to document ids against the document rows, then applied as ``doc_id in [...]``
expressions; every value spliced into an expression is a hex id or a plain word (letters, digits, CJK:
``containing``), never other user text.  Lite returns BM25 scores negated, so keyword scores are taken
as absolute values (order is what counts).
An ``upsert`` writes the new rows before deleting the replaced ones: a reader may briefly see both
versions of a replaced document, never neither.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import StoreConfig
from rag.embed import Embedder
from rag.ingest import CHUNKER_VERSION, document_key
from rag.records import Chunk, Document
from rag.sentences import quotable_units
from rag.store.base import (Filters, Ranked, StoreError, StoreMismatchError, StoreNotFoundError, check_words,
                            embed_chunks, mismatches, removed_by, replaced_by)
from rag.textnorm import fold

FORMAT_VERSION = 1
_ANALYZER = {"tokenizer": "jieba", "filter": ["cnalphanumonly"]}  # Lite rejects {"type": "chinese"}
_ID = re.compile(r"[0-9A-Za-z_:.-]{1,160}")
_RECORD_BYTES = 65_535  # Milvus VARCHAR limit
_PAGE = 16_384  # Milvus's largest query window


def resolve_uri(uri: str) -> str:
    """``http(s)://``/``tcp://``/``unix:`` go to a server; anything else is a Milvus Lite folder (``.db`` added)."""
    if re.match(r"^(https?|tcp|unix)://|^unix:", uri):
        return uri
    return uri if uri.endswith(".db") else uri.rstrip("/") + ".db"


def _ids(values: Iterable[str]) -> str:
    """An expression list literal of ids (hex hashes and our own prefixes only: nothing a user typed)."""
    values = list(values)
    bad = [v for v in values if not _ID.fullmatch(v)]
    if bad:
        raise StoreError(f"unexpected id {bad[0]!r} in a Milvus expression")
    return json.dumps(values)


class MilvusStore:
    backend = "milvus"

    def __init__(self, cfg: StoreConfig, embedder: Embedder, client: Any, uri: str) -> None:
        self.cfg, self.embedder, self.client, self.uri = cfg, embedder, client, uri
        self.alias = cfg.collection

    @classmethod
    def open(cls, cfg: StoreConfig, embedder: Embedder, create: bool = False, replace: bool = False) -> MilvusStore:
        """Connect; without ``create`` a missing collection raises with the command that builds it; with
        ``replace`` what is stored is not checked (a rebuild follows)."""
        from pymilvus import MilvusClient

        # pymilvus logs every expected miss (and Lite's client-side timestamps) as warnings with tracebacks
        logging.getLogger("pymilvus").setLevel(logging.ERROR)
        uri = resolve_uri(cfg.uri)
        if "://" not in uri and not uri.startswith("unix:"):
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            client = MilvusClient(uri=uri, token=cfg.token)
        except Exception as exc:  # connection refused, Lite folder locked by another process, bad token …
            raise StoreError(f"cannot open Milvus at {uri}: {exc}") from exc
        store = cls(cfg, embedder, client, uri)
        if client.has_collection(store.alias):
            client.load_collection(store.alias)  # a reopened collection is "released" until loaded
            if not replace:
                store._check(store._manifest())
        elif not (create or replace):
            raise StoreNotFoundError(f"no Milvus collection {store.alias!r} at {uri}; build it with: "
                                     "policy-rag index build [PATH ...] (with [store] backend = \"milvus\")")
        return store

    # ------------------------------------------------------------------ reading

    def _manifest(self) -> dict[str, Any]:
        rows = self.client.query(self.alias, filter='kind == "manifest"', output_fields=["record"], limit=1)
        return json.loads(rows[0]["record"]) if rows else {}

    def _check(self, manifest: dict[str, Any]) -> None:
        problems = mismatches(manifest, self.embedder, FORMAT_VERSION)
        if problems:
            raise StoreMismatchError(f"Milvus collection {self.alias!r} at {self.uri} was built with "
                                     + "; ".join(problems) + ".\nrebuild with: policy-rag index build [PATH ...]")

    def _exists(self) -> bool:
        return bool(self.client.has_collection(self.alias))

    def _query(self, expr: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row matching ``expr`` (paged, so a large store is read whole)."""
        if not self._exists():
            return []
        it = self.client.query_iterator(self.alias, batch_size=1000, filter=expr, output_fields=fields)
        out: list[dict[str, Any]] = []
        try:
            while batch := it.next():
                out.extend(batch)
        finally:
            it.close()
        return out

    def documents(self) -> list[Document]:
        rows = self._query('kind == "doc"', ["record"])
        return sorted((Document.from_dict(json.loads(r["record"])) for r in rows), key=lambda d: (d.source_file, d.char_start))

    def content_keys(self) -> dict[str, str]:
        return {r["content_key"]: r["source_file"] for r in self._query('kind == "doc"', ["content_key", "source_file"])}

    def count(self) -> int:
        return self._count("chunk")

    def _count(self, kind: str) -> int:
        if not self._exists():
            return 0
        rows = self.client.query(self.alias, filter=f'kind == "{kind}"', output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def containing(self, words: Sequence[str]) -> list[int]:
        """One ``like "%word%"`` count per word: a word is letters, digits and CJK only, so it is safe to splice."""
        words = check_words(words)
        if not self._exists():
            return [0] * len(words)
        return [int(self.client.query(self.alias, filter=f'kind == "chunk" and text like "%{w}%"',
                                      output_fields=["count(*)"])[0]["count(*)"]) for w in words]

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids or not self._exists():
            return []
        found: dict[str, Chunk] = {}
        for start in range(0, len(ids), _PAGE):
            page = list(ids[start:start + _PAGE])
            for r in self.client.query(self.alias, filter=f'kind == "chunk" and id in {_ids(page)}',
                                       output_fields=["record"], limit=len(page)):
                c = Chunk.from_dict(json.loads(r["record"]))
                found[c.chunk_id] = c
        return [found[i] for i in ids if i in found]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        rows = self._query(f'kind == "chunk" and doc_id in {_ids([doc_id])}', ["record"])
        return sorted((Chunk.from_dict(json.loads(r["record"])) for r in rows), key=lambda c: c.ordinal)

    def neighbours(self, chunk_id: str, n: int) -> list[Chunk]:
        found = self.chunks([chunk_id])
        if not found or n <= 0:
            return []
        rows = self.document_chunks(found[0].doc_id)
        at = [c.chunk_id for c in rows].index(chunk_id)
        return rows[max(0, at - n):at] + rows[at + 1:at + 1 + n]

    def _where(self, filters: Filters | None) -> str | None:
        """``kind == "chunk"`` plus the filters as ``doc_id in [...]``; None when no document passes them."""
        if not filters:
            return 'kind == "chunk"'
        docs = [d.doc_id for d in self.documents() if filters.accepts(d)]
        return f'kind == "chunk" and doc_id in {_ids(docs)}' if docs else None

    def _search(self, data: Any, field: str, metric: str, k: int, filters: Filters | None) -> Ranked:
        where = self._where(filters)
        if where is None or not self._exists():
            return Ranked()
        res = self.client.search(self.alias, data=[data], anns_field=field, limit=k, filter=where,
                                 output_fields=["id"], search_params=self._params(metric, k))
        hits = res[0] if res else []
        return Ranked(tuple(h["id"] for h in hits), tuple(abs(float(h["distance"])) if metric == "BM25"
                                                          else float(h["distance"]) for h in hits))

    def _params(self, metric: str, k: int) -> dict[str, Any]:
        if metric == "IP" and self.cfg.dense_index == "HNSW":
            return {"metric_type": metric, "params": {"ef": max(self.cfg.hnsw_ef, k)}}
        return {"metric_type": metric}

    def dense(self, qvec: np.ndarray, k: int, filters: Filters | None = None) -> Ranked:
        return self._search(np.asarray(qvec, np.float32).tolist(), "vector", "IP", k, filters)

    def lexical(self, query: str, k: int, filters: Filters | None = None) -> Ranked:
        return self._search(fold(query), "sparse", "BM25", k, filters)

    def hybrid(self, query: str, qvec: np.ndarray, k: int, filters: Filters | None = None) -> Ranked:
        from pymilvus import AnnSearchRequest, RRFRanker

        where = self._where(filters)
        if where is None or not self._exists():
            return Ranked()
        requests = [
            AnnSearchRequest(data=[np.asarray(qvec, np.float32).tolist()], anns_field="vector",
                             param=self._params("IP", k), limit=k, expr=where),
            AnnSearchRequest(data=[fold(query)], anns_field="sparse", param={"metric_type": "BM25"}, limit=k, expr=where),
        ]
        res = self.client.hybrid_search(self.alias, requests, ranker=RRFRanker(60), limit=k, output_fields=["id"])
        hits = res[0] if res else []
        return Ranked(tuple(h["id"] for h in hits), tuple(float(h["distance"]) for h in hits))

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(ids), self.embedder.dim), np.float32)
        if not ids or not self._exists():
            return out
        rows = self.client.query(self.alias, filter=f'kind == "chunk" and id in {_ids(ids)}',
                                 output_fields=["id", "vector"], limit=len(ids))
        got = {r["id"]: r["vector"] for r in rows}
        for i, cid in enumerate(ids):
            if cid in got:
                out[i] = got[cid]
        return out

    def unit_vectors(self, ids: Sequence[str]) -> list[np.ndarray]:
        by_chunk: dict[str, list[tuple[int, list[float]]]] = {}
        if ids and self._exists():
            for r in self._query(f'kind == "unit" and chunk_id in {_ids(ids)}', ["chunk_id", "ordinal", "vector"]):
                by_chunk.setdefault(r["chunk_id"], []).append((int(r["ordinal"]), r["vector"]))
        return [np.asarray([v for _, v in sorted(by_chunk.get(c, []), key=lambda t: t[0])], np.float32)
                .reshape(-1, self.embedder.dim) for c in ids]

    # ------------------------------------------------------------------ writing

    def _schema(self) -> tuple[Any, Any]:
        from pymilvus import DataType, Function, FunctionType

        s = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=200)
        s.add_field("kind", DataType.VARCHAR, max_length=16)
        s.add_field("doc_id", DataType.VARCHAR, max_length=64)
        s.add_field("chunk_id", DataType.VARCHAR, max_length=64)
        s.add_field("ordinal", DataType.INT64)
        s.add_field("source_file", DataType.VARCHAR, max_length=4096)
        s.add_field("content_key", DataType.VARCHAR, max_length=128)
        s.add_field("text", DataType.VARCHAR, max_length=_RECORD_BYTES, enable_analyzer=True, analyzer_params=_ANALYZER)
        s.add_field("record", DataType.VARCHAR, max_length=_RECORD_BYTES)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=int(self.embedder.dim))
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                output_field_names=["sparse"]))
        ip = self.client.prepare_index_params()
        if self.cfg.dense_index == "HNSW":
            ip.add_index("vector", index_type="HNSW", metric_type="IP",
                         params={"M": self.cfg.hnsw_m, "efConstruction": self.cfg.hnsw_ef_construction})
        else:
            ip.add_index("vector", index_type="FLAT", metric_type="IP")
        ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        return s, ip

    def _rows(self, documents: Sequence[Document], chunks: Sequence[Chunk]) -> tuple[list[dict[str, Any]], int]:
        """Rows for these documents (every kind but the manifest) and how many texts were embedded."""
        vectors, units, embedded = embed_chunks(self.embedder, chunks)
        zero = [0.0] * int(self.embedder.dim)
        by_doc: dict[str, list[Chunk]] = {}
        for c in chunks:
            by_doc.setdefault(c.doc_id, []).append(c)

        def row(kind: str, rid: str, record: str, doc_id: str, vector: Any, text: str = "", chunk_id: str = "",
                ordinal: int = 0, source_file: str = "", content_key: str = "") -> dict[str, Any]:
            if len(record.encode("utf-8")) > _RECORD_BYTES or len(text.encode("utf-8")) > _RECORD_BYTES:
                raise StoreError(f"{source_file or doc_id}: a {kind} record of {len(record)} characters is longer than "
                                 f"Milvus stores in one field ({_RECORD_BYTES} bytes)")
            return {"id": rid, "kind": kind, "doc_id": doc_id, "chunk_id": chunk_id, "ordinal": ordinal,
                    "source_file": source_file, "content_key": content_key, "text": text, "record": record,
                    "vector": vector}

        rows = [row("doc", f"d:{d.doc_id}", json.dumps(d.to_dict(), ensure_ascii=False), d.doc_id, zero,
                    source_file=d.source_file, content_key=document_key(by_doc.get(d.doc_id, [])))
                for d in documents]
        at = 0
        for c, v in zip(chunks, vectors):
            rows.append(row("chunk", c.chunk_id, json.dumps(c.to_dict(), ensure_ascii=False), c.doc_id, v.tolist(),
                            text=fold(c.embed_text()), chunk_id=c.chunk_id, ordinal=c.ordinal,
                            source_file=c.source_file))
            for i in range(len(quotable_units(c.text))):
                rows.append(row("unit", f"u:{c.chunk_id}:{i}", "", c.doc_id, units[at].tolist(),
                                chunk_id=c.chunk_id, ordinal=i))
                at += 1
        return rows, embedded

    def _manifest_row(self, documents: int, chunks: int) -> dict[str, Any]:
        manifest = {"format": FORMAT_VERSION, "embedder": {"id": self.embedder.id, "dim": int(self.embedder.dim)},
                    "chunker_version": CHUNKER_VERSION, "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "counts": {"documents": documents, "chunks": chunks}}
        return {"id": "manifest", "kind": "manifest", "doc_id": "", "chunk_id": "", "ordinal": 0, "source_file": "",
                "content_key": "", "text": "", "record": json.dumps(manifest), "vector": [0.0] * int(self.embedder.dim)}

    def _write(self, collection: str, rows: list[dict[str, Any]], upsert: bool) -> None:
        put = self.client.upsert if upsert else self.client.insert
        for start in range(0, len(rows), self.cfg.insert_batch):
            put(collection, rows[start:start + self.cfg.insert_batch])

    def upsert(self, documents: Sequence[Document], chunks: Sequence[Chunk]) -> int:
        if not self._exists():
            self.rebuild(documents, chunks)
            return len(chunks)
        stored = self.documents()
        gone = {d.doc_id for d in replaced_by(stored, documents)} - {d.doc_id for d in documents}
        rows, embedded = self._rows(documents, chunks)
        new_ids = [r["id"] for r in rows]
        self._write(self.alias, rows, upsert=True)
        stale = f"doc_id in {_ids(sorted(gone | {d.doc_id for d in documents}))} and id not in {_ids(new_ids)}"
        self.client.delete(self.alias, filter=stale)  # the replaced versions' rows, after the new ones are in
        self._write(self.alias, [self._manifest_row(self._count("doc"), self.count())], upsert=True)
        self.client.flush(self.alias)
        return embedded

    def delete(self, keys: Iterable[str]) -> list[Document]:
        stored = self.documents()
        gone = removed_by(stored, keys)
        self.client.delete(self.alias, filter=f"doc_id in {_ids(sorted(d.doc_id for d in gone))}")
        self._write(self.alias, [self._manifest_row(self._count("doc"), self.count())], upsert=True)
        self.client.flush(self.alias)
        return gone

    def rebuild(self, documents: Sequence[Document], chunks: Sequence[Chunk]) -> None:
        """Write a new collection, then point the alias at it and drop the old one; on failure drop the new one."""
        ids = [c.chunk_id for c in chunks]
        if len(set(ids)) != len(ids):
            raise StoreError("duplicate chunk ids: the same document was given twice")
        name = f"{self.alias}_{time.strftime('%Y%m%d%H%M%S')}_{time.time_ns() % 1_000_000:06d}"
        schema, index_params = self._schema()
        self.client.create_collection(name, schema=schema, index_params=index_params)
        try:
            rows, _ = self._rows(documents, chunks)
            self._write(name, [*rows, self._manifest_row(len(documents), len(chunks))], upsert=False)
            self.client.flush(name)
            self.client.load_collection(name)
        except BaseException:
            self.client.drop_collection(name)
            raise
        old = self._target()
        if old == self.alias:  # a plain collection by that name: not ours to replace
            self.client.drop_collection(name)
            raise StoreError(f"a collection named {self.alias!r} already exists at {self.uri} (not an alias)")
        if old is None:
            self.client.create_alias(name, self.alias)
        else:
            self.client.alter_alias(name, self.alias)
            self.client.drop_collection(old)

    def _target(self) -> str | None:
        """The collection the alias points at now (None before the first build)."""
        if not self._exists():
            return None
        return str(self.client.describe_collection(self.alias)["collection_name"])

    def status(self) -> dict[str, Any]:
        if not self._exists():
            return {"backend": self.backend, "path": self.uri, "exists": False,
                    "message": f"no Milvus collection {self.alias!r} at {self.uri}"}
        manifest = self._manifest()
        docs = self.documents()
        return {"backend": self.backend, "path": self.uri, "exists": True, "collection": self._target(),
                "alias": self.alias, "embedder": manifest.get("embedder"),
                "chunker_version": manifest.get("chunker_version"), "index_type": "milvus",
                "built_at": manifest.get("built_at"), "counts": {"documents": len(docs), "chunks": self.count()},
                "documents": {d.doc_id: d.source_file for d in docs}}

    def close(self) -> None:
        self.client.close()
