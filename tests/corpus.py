"""Where the shared corpora are, and what a test does when they are not there.

The corpora (Goose's cookbook recipes, recorded provider streams) are other projects'
public data, so they are never copied into this repository: tests read them where they lie,
named by ``GOOSE_NB_CORPUS`` (default: ``shared/corpus`` beside the repository's folder).
Where a corpus is absent its tests are skipped with one line that says what is missing and
how to get it, so a plain clone passes ``make test``. ``.ci/run`` sets
``GOOSE_NB_CORPUS_REQUIRED=1``: there an absent corpus fails the run instead, so CI never
skips these tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS_ENV = "GOOSE_NB_CORPUS"
REQUIRED_ENV = "GOOSE_NB_CORPUS_REQUIRED"
#: how every skip for a missing corpus starts, so the run's summary can count them
SKIP_PREFIX = "corpus missing"
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_root() -> Path:
    """The corpus folder: ``GOOSE_NB_CORPUS`` if set, else ``../shared/corpus``."""
    configured = os.environ.get(CORPUS_ENV, "").strip()
    return Path(configured).expanduser().resolve() if configured else DEFAULT_ROOT


def _required() -> bool:
    return os.environ.get(REQUIRED_ENV, "").strip().lower() in ("1", "true", "yes")


def require_corpus(name: str) -> Path:
    """The corpus ``name`` (``provider-streams``, ``goose-recipes``); skips the calling test
    or module when it is absent, or fails it where the corpus is required."""
    folder = corpus_root() / name
    if folder.is_dir():
        return folder
    message = (f"{SKIP_PREFIX}: {folder} does not exist; set {CORPUS_ENV} to the folder "
               f"that holds {name}/ (the project's shared corpus) to run these tests")
    if _required():
        pytest.fail(f"{message} ({REQUIRED_ENV} is set, so a missing corpus is an error)",
                    pytrace=False)
    pytest.skip(message, allow_module_level=True)
