"""Typed readers for the environment: the only place settings come from (SPEC §6)."""

from __future__ import annotations

from pathlib import Path

import environ

env = environ.Env()


def data_dir() -> Path:
    """Folder for the embedded defaults (SQLite, uploads, queue). `./var` unless POSDESK_DATA_DIR."""
    path = Path(env.str("POSDESK_DATA_DIR", default="var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
