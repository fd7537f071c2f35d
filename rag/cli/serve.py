"""``policy-rag serve``: the Gradio chat on one opened ``Service``.

Gradio is imported only here (lazily), so other commands never pay for it.
"""

from __future__ import annotations

import argparse
import os
import sys

from rag.config import Config


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="open the Gradio chat (Chinese UI) on a local port")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--concurrency", type=int, default=4,
                   help="answers computed at once; further requests wait in the queue (default 4)")
    p.set_defaults(func=serve)


def index_missing_message(cfg: Config) -> str | None:
    """Why the index cannot be served, with the commands that build it; None when it is there."""
    path = cfg.index.path
    if path.is_dir() and any(path.iterdir()):
        return None
    name = "" if cfg.index.name == "default" else f"--index-name {cfg.index.name} "
    return (
        f"policy-rag serve: no index at {path}/.\n"
        "Build it first:\n"
        f"  policy-rag {name}index build {cfg.corpus}\n"
        "(or `make demo`, which ingests data/corpus, builds the index and starts the chat)"
    )


def serve(args: argparse.Namespace, cfg: Config) -> int:
    """Open the index once, build the page, serve until interrupted."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    missing = index_missing_message(cfg)
    if missing:
        print(missing, file=sys.stderr)
        return 1
    from rag.service import Service
    from ui.app import build_app, launch

    try:
        service = Service.open(cfg)
    except (FileNotFoundError, ValueError) as exc:
        print(f"policy-rag serve: cannot open the index at {cfg.index.path}/: {exc}\n"
              f"Rebuild it: policy-rag index build {cfg.corpus}", file=sys.stderr)
        return 1
    print(f"policy-rag: {service.status()['documents']} documents, answering with {service.backend}; "
          f"open http://{args.host}:{args.port}/", flush=True)
    launch(build_app(service, cfg), args.host, args.port, concurrency=args.concurrency)
    return 0
