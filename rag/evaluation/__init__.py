"""Evaluation: the gold Q&A set and its validator (qaset), metric functions (metrics), the
retriever and LangChain baselines (baselines), the runner over any file in the schema (runner)
and the Markdown/HTML reports plus the regression gate (report)."""
