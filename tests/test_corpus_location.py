"""A clone without the shared corpus still passes: its corpus tests skip with one line that
says what is missing, and fail instead where the corpus is required (as in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import CORPUS_ENV, REQUIRED_ENV, SKIP_PREFIX

TESTS = Path(__file__).resolve().parent
CORPUS_MODULES = ["test_corpus_streams.py", "test_recipe_corpus.py"]


def run_corpus_tests(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in (CORPUS_ENV, REQUIRED_ENV)}
    environ[CORPUS_ENV] = str(tmp_path / "nowhere")
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CORPUS_MODULES],
        cwd=TESTS, env=environ, capture_output=True, text=True, timeout=90,
    )


def test_an_absent_corpus_skips_its_modules_with_the_reason(tmp_path):
    run = run_corpus_tests(tmp_path)
    # every module was skipped whole, so pytest ran no test (exit 5), and nothing errored
    assert run.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, run.stdout + run.stderr
    assert "2 skipped" in run.stdout and "error" not in run.stdout.lower()
    missing = tmp_path / "nowhere" / "provider-streams"
    assert f"{SKIP_PREFIX}: {missing} does not exist; set {CORPUS_ENV}" in run.stdout
    assert "2 corpus test module(s) and 0 other test(s) skipped" in run.stdout


def test_an_absent_corpus_fails_the_run_where_it_is_required(tmp_path):
    run = run_corpus_tests(tmp_path, **{REQUIRED_ENV: "1"})
    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.stdout + run.stderr
    assert "2 errors" in run.stdout
    assert f"{REQUIRED_ENV} is set, so a missing corpus is an error" in run.stdout
