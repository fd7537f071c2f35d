"""Reports of an eval run (Markdown for the terminal, self-contained HTML) and the regression gate.

Why the gate lives here: it reads the same flattened metric names the tables show
(``hit@5`` for the pipeline, ``bm25.hit@5`` for a baseline), so a failure message names a
row a reader can find in the report.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rag.answer.answerability import REFIT_COMMAND

# Metric rows of the side-by-side table, with their display names.
TABLE_ROWS: tuple[tuple[str, str], ...] = (
    ("hit@1", "hit@1"), ("hit@3", "hit@3"), ("hit@5", "hit@5"), ("hit@10", "hit@10"),
    ("mrr@10", "MRR@10"), ("full_coverage@10", "full coverage@10"),
    ("key_fact_recall", "key-fact recall"), ("char_f1", "char F1"),
    ("citation_precision", "citation precision"), ("cited_share", "answers with ≥1 citation"),
    ("unsupported_rate", "answers with unsupported numbers"),
    ("refusal_precision", "refusal precision"), ("refusal_recall", "refusal recall"),
    ("false_refusal_rate", "false-refusal rate (answerable refused)"),
    ("not_stated_labelled", "not_stated items labelled not_stated"), ("not_found_labelled", "not_found items labelled not_found"),
    ("answerability_auc", "answerability AUC"), ("faithfulness", "judge faithfulness"),
    ("latency_p50_s", "latency p50 (s)"), ("latency_p95_s", "latency p95 (s)"),
)
TYPE_COLUMNS: tuple[str, ...] = ("hit@1", "hit@5", "mrr@10", "key_fact_recall", "char_f1", "citation_precision",
                                 "refusal_recall", "false_refusal_rate")

# Gated metrics -> higher is better.  Latency is not gated: it measures the machine, not the code.
GATED_PRIMARY: dict[str, bool] = {
    "hit@1": True, "hit@3": True, "hit@5": True, "hit@10": True, "mrr@10": True, "full_coverage@10": True,
    "key_fact_recall": True, "char_f1": True, "citation_precision": True, "cited_share": True,
    "refusal_precision": True, "refusal_recall": True, "false_refusal_rate": False,
}
GATED_BASELINE: dict[str, bool] = {"hit@1": True, "hit@5": True, "hit@10": True, "mrr@10": True,
                                   "key_fact_recall": True}
RETRIEVAL_METRICS = frozenset({"hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "full_coverage@10"})
_REFUSAL_METRICS = frozenset({"refusal_precision", "refusal_recall"})
MIN_TOLERANCE = 0.02


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _systems(report: Mapping[str, Any]) -> list[str]:
    return list(report["metrics"])


# ---------------------------------------------------------------- Markdown


def markdown_summary(report: Mapping[str, Any]) -> str:
    """Side-by-side table of all systems, per-type tables, and run facts."""
    meta, metrics = report["meta"], report["metrics"]
    systems = _systems(report)
    primary = meta.get("primary", systems[0] if systems else "")
    first = metrics[primary]["overall"] if primary else {}
    secs = ", ".join(f"{s} {v:.1f} s" for s, v in meta.get("system_seconds", {}).items())
    lines = [
        f"## policy-rag eval — {meta.get('qa', '?')}",
        "",
        f"{meta.get('n_items', 0)} questions ({first.get('n_answerable', 0)} answerable, "
        f"{first.get('n_unanswerable', 0)} unanswerable) · backend `{meta.get('backend', '?')}` · "
        f"k={meta.get('k', '?')} · index `{meta.get('index', '?')}` · embedder `{meta.get('embedder', '?')}`",
        f"Time: {meta.get('elapsed_s', 0):.1f} s in all ({secs})" + (
            f"; LangChain baseline built in {meta['langchain_build_s']:.1f} s "
            f"({meta.get('langchain_chunks', '?')} chunks)" if "langchain_build_s" in meta else ""),
        "",
        "| metric | " + " | ".join(systems) + " |",
        "|---|" + "---:|" * len(systems),
    ]
    for key, label in TABLE_ROWS:
        values = [metrics[s]["overall"].get(key) for s in systems]
        if all(v is None for v in values):
            continue
        lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in values) + " |")
    by_type = metrics[primary]["by_type"] if primary else {}
    cols = [c for c in TYPE_COLUMNS if any(row.get(c) is not None for row in by_type.values())]
    lines += ["", f"### Per type ({primary})", "", "| type | n | " + " | ".join(cols) + " |",
              "|---|---:|" + "---:|" * len(cols)]
    for t, row in by_type.items():
        lines.append(f"| {t} | {row['n']} | " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
    lines += ["", "### hit@5 per type, all systems", "", "| type | " + " | ".join(systems) + " |",
              "|---|" + "---:|" * len(systems)]
    for t in by_type:
        if by_type[t].get("hit@5") is None:
            continue
        lines.append(f"| {t} | " + " | ".join(_fmt(metrics[s]["by_type"].get(t, {}).get("hit@5"))
                                             for s in systems) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- HTML


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plots(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(caption, base64 PNG): hit@k curves per system, per-type hit@5 and per-type key-fact recall."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    metrics = report["metrics"]
    systems = _systems(report)
    out: list[tuple[str, str]] = []

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for s in systems:
        curve = [np.nan if v is None else v for v in metrics[s]["overall"].get("hit_curve", [])]
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=s)
    ax.set(xlabel="k", ylabel="hit@k", ylim=(0, 1.02), title="hit@k per retriever")
    ax.grid(alpha=0.3)
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left")
    out.append(("hit@k curves (answerable questions)", _png(fig)))
    plt.close(fig)

    for key, title, names in (
        ("hit@5", "hit@5 per question type", systems),
        ("key_fact_recall", "key-fact recall per question type", [s for s in systems if metrics[s]["answers"]]),
    ):
        by_type = metrics[systems[0]]["by_type"]
        types = [t for t, row in by_type.items() if row.get("hit@5") is not None]
        if not names or not types:
            continue
        fig, ax = plt.subplots(figsize=(max(6, len(types) * 0.9), 3.6))
        width = 0.8 / len(names)
        x = np.arange(len(types))
        for i, s in enumerate(names):
            vals = [metrics[s]["by_type"].get(t, {}).get(key) for t in types]
            ax.bar(x + i * width, [0 if v is None else v for v in vals], width, label=s)
        ax.set_xticks(x + width * (len(names) - 1) / 2, types, rotation=30, ha="right")
        ax.set(ylim=(0, 1.05), ylabel=key, title=title)
        ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
        out.append((title, _png(fig)))
        plt.close(fig)
    return out


def _md_table_to_html(md: str) -> str:
    """The Markdown summary's tables and lines as HTML (one source of truth for both reports)."""
    parts: list[str] = []
    rows: list[list[str]] = []

    def flush() -> None:
        if rows:
            head, body = rows[0], rows[2:]
            parts.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"
                         + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body)
                         + "</table>")
            rows.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            rows.append([html.escape(c.strip()) for c in line.strip("|").split("|")])
            continue
        flush()
        if line.startswith("## "):
            parts.append(f"<h1>{html.escape(line[3:])}</h1>")
        elif line.startswith("### "):
            parts.append(f"<h2>{html.escape(line[4:])}</h2>")
        elif line.strip():
            parts.append(f"<p>{html.escape(line).replace('`', '')}</p>")
    flush()
    return "\n".join(parts)


def _items_table(report: Mapping[str, Any]) -> str:
    """One row per question: where each system first found evidence, and the pipeline's answer."""
    systems = _systems(report)
    primary = report["meta"].get("primary", systems[0] if systems else "")
    head = ["id", "type", "question"] + [f"{s} rank" for s in systems] + ["key-fact recall", "answer", "refused"]
    out = ["<table class='items'><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for it in report["items"]:
        runs = {primary: it, **it.get("baselines", {})}
        ranks = [_fmt(runs.get(s, {}).get("scores", {}).get("first_hit_rank")) for s in systems]
        kf = it.get("scores", {}).get("key_fact_recall")
        cells = [it["id"], it["type"], it["question"], *ranks, _fmt(kf), it.get("answer", ""),
                 "yes" if it.get("refused") else ""]
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return "\n".join(out) + "</table>"


def html_report(report: Mapping[str, Any], gate: GateResult | None = None) -> str:
    """A self-contained page: summary tables, embedded plots, gate result and per-item table."""
    figs = "".join(f"<figure><img src='data:image/png;base64,{b64}' alt='{html.escape(c)}'>"
                   f"<figcaption>{html.escape(c)}</figcaption></figure>" for c, b64 in plots(report))
    gate_html = f"<h2>Regression gate</h2><pre>{html.escape(gate.describe())}</pre>" if gate else ""
    css = ("body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;margin:1em 0}"
           "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;vertical-align:top}"
           "td{text-align:right}.items td{text-align:left;white-space:pre-wrap}"
           "figure{display:inline-block;margin:0 1em}")
    return (f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>policy-rag eval</title>"
            f"<style>{css}</style></head><body>{_md_table_to_html(markdown_summary(report))}{figs}{gate_html}"
            f"<h2>Items</h2>{_items_table(report)}</body></html>")


# ---------------------------------------------------------------- regression gate


def flatten(report: Mapping[str, Any]) -> dict[str, float | None]:
    """Gated overall metrics by name: bare for the primary system, ``<system>.<metric>`` for baselines."""
    primary = report["meta"].get("primary")
    flat: dict[str, float | None] = {}
    for system, m in report["metrics"].items():
        gated = GATED_PRIMARY if system == primary else GATED_BASELINE
        for key in gated:
            if key in m["overall"]:
                flat[key if system == primary else f"{system}.{key}"] = m["overall"][key]
    return flat


def _higher_is_better(name: str) -> bool:
    key = name.rsplit(".", 1)[-1]
    return GATED_PRIMARY.get(key, GATED_BASELINE.get(key, True))


def make_baseline(report: Mapping[str, Any], command: str = "") -> dict[str, Any]:
    """Accepted metrics from a run, each with a tolerance of about one item flipping (at least 0.02)."""
    meta, primary = report["meta"], report["meta"].get("primary")
    overall = report["metrics"][primary]["overall"]
    n_ans, n_unans = max(overall.get("n_answerable", 0), 1), max(overall.get("n_unanswerable", 0), 1)
    metrics = {}
    for name, value in flatten(report).items():
        if value is None:
            continue
        n = n_unans if name in _REFUSAL_METRICS else n_ans
        metrics[name] = {"value": round(value, 4), "tolerance": round(max(MIN_TOLERANCE, 1 / n + 0.001), 3),
                         "higher_is_better": _higher_is_better(name)}
    return {
        "about": "Accepted eval metrics; `policy-rag eval --check` fails when one degrades by more than its "
                 "tolerance. Regenerate with the command below after an intended change.",
        "command": command,
        "qa": meta.get("qa"), "n_items": meta.get("n_items"), "backend": meta.get("backend"), "k": meta.get("k"),
        "embedder": meta.get("embedder"), "split": meta.get("split"),
        "calibration": meta.get("calibration"),
        "metrics": metrics,
    }


@dataclass(frozen=True)
class Regression:
    """One gated metric that moved the wrong way by more than its tolerance."""

    name: str
    baseline: float
    value: float | None
    tolerance: float
    higher_is_better: bool

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.name}: {self.baseline:.3f} -> undefined (was defined in the baseline)"
        word = "dropped" if self.higher_is_better else "rose"
        return (f"{self.name}: {self.baseline:.3f} -> {self.value:.3f} "
                f"({word} {abs(self.value - self.baseline):.3f} > tolerance {self.tolerance:.3f})")


@dataclass(frozen=True)
class Stale:
    """The baseline was accepted under other answer constants or another answerability model."""

    what: str
    name: str = "calibration"

    def __str__(self) -> str:
        return (f"calibration changed since the baseline ({self.what}): refit on dev (`{REFIT_COMMAND}`) "
                "and regenerate the baseline")


def _calibration_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Which recorded constants differ, e.g. ``answer.kind_penalty 0.1 -> 0.2``."""
    diffs = []
    for section in sorted(set(old) | set(new)):
        a, b = old.get(section), new.get(section)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += [f"{section}.{k} {a.get(k)} -> {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            diffs.append(f"{section} {a} -> {b}")
    return "; ".join(diffs) or "unknown"


@dataclass
class GateResult:
    """Regressions found, how many metrics were compared, and why others were not."""

    regressions: list[Regression | Stale] = field(default_factory=list)
    compared: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.regressions

    def describe(self) -> str:
        head = (f"regression gate: PASSED ({self.compared} metrics within tolerance)" if self.passed else
                f"regression gate: FAILED — {len(self.regressions)} of {self.compared} metrics degraded: "
                + ", ".join(r.name for r in self.regressions))
        return "\n".join([head, *(f"  {r}" for r in self.regressions), *(f"  note: {n}" for n in self.notes)])


def check(report: Mapping[str, Any], baseline: Mapping[str, Any]) -> GateResult:
    """Compare a run with the accepted baseline metrics.

    Metrics not measured this time (a system not run, ``--retrieval-only``) are skipped, with a
    note.  When the answer backend differs from the baseline's, only retrieval metrics are
    compared: the answers are not comparable.  A metric undefined now but defined in the
    baseline counts as a regression."""
    flat = flatten(report)
    meta = report["meta"]
    result = GateResult()
    same_backend = baseline.get("backend") in (None, meta.get("backend"))
    if not same_backend:
        result.notes.append(f"backend {meta.get('backend')} differs from the baseline's {baseline.get('backend')}: "
                            "only retrieval metrics compared")
    if baseline.get("calibration") not in (None, meta.get("calibration")):
        result.regressions.append(Stale(_calibration_diff(baseline["calibration"], meta.get("calibration") or {})))
    if baseline.get("n_items") not in (None, meta.get("n_items")):
        result.notes.append(f"{meta.get('n_items')} items evaluated, the baseline had {baseline.get('n_items')}")
    skipped: list[str] = []
    for name, spec in baseline.get("metrics", {}).items():
        if not same_backend and name.rsplit(".", 1)[-1] not in RETRIEVAL_METRICS:
            continue
        if name not in flat:
            skipped.append(name)
            continue
        result.compared += 1
        value, base, tol = flat[name], float(spec["value"]), float(spec["tolerance"])
        higher = bool(spec.get("higher_is_better", True))
        delta = (base - value if higher else value - base) if value is not None else None
        if delta is None or delta > tol + 1e-9:
            result.regressions.append(Regression(name, base, value, tol, higher))
    if skipped:
        result.notes.append(f"not compared (not measured in this run): {', '.join(skipped)}")
    return result
