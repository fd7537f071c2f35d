"""The ``policy-rag`` command line: one sub-module per command group.

Each sub-module exposes ``register(subparsers)``, which adds its commands and sets
``func(args, cfg) -> int`` as the handler.  Sub-modules are imported lazily by name so
``policy-rag ingest`` does not pay for importing gradio or faiss.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from rag.config import ConfigError, load_config

# command -> sub-module that registers it
_GROUPS = {
    "ingest": "ingest", "inspect": "ingest",
    "index": "index", "search": "index",
    "ask": "ask", "chat": "ask",
    "serve": "serve",
    "eval": "evaluate",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policy-rag", description="Chinese policy-notice QA with clause citations.")
    parser.add_argument("--config", help="TOML config file (default: ./policy-rag.toml if present)")
    parser.add_argument("--index-name", help="index folder name under index/ (default: default)")
    parser.add_argument("--store", choices=("faiss", "milvus"), help="store backend (default: [store] backend, faiss)")
    parser.add_argument("--embedder", help="e5-small (default) or st:<sentence-transformers model name or path>")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = sorted(set(_GROUPS.values())) if only is None else [_GROUPS[only]]
    for name in modules:
        importlib.import_module(f"rag.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in _GROUPS else None)
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
        if args.index_name:
            cfg = cfg.replace("index", name=args.index_name)
        if args.store:
            cfg = cfg.replace("store", backend=args.store)
        if args.embedder:
            cfg = cfg.replace("embed", backend=args.embedder)
        return int(args.func(args, cfg) or 0)
    except ConfigError as exc:
        print(f"policy-rag: config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
