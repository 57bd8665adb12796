"""Hardened grading: student code runs in a sandboxed worker process, apart from the scorer.

`RemoteBackend(target)` implements the Backend protocol over a worker forked from a warm,
pre-imported template (`template.py`) that runs under bubblewrap where it is installed
(`launcher.py`); only plain data crosses (`wire.py`).
"""
from .launcher import Limits, Sandbox, bwrap_path
from .remote import RemoteBackend

__all__ = ["Limits", "RemoteBackend", "Sandbox", "bwrap_path"]
