"""Evaluation assets: the gold Q&A set (eval/qa.jsonl) and its validator."""
