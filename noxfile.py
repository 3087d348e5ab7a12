"""The test suite on every supported CPython that is installed: ``make test-pythons``.

Each session installs goose_nb (not editable: the wheel as a user gets it) with its test
extras into a fresh virtual environment and runs pytest. An interpreter that is not
installed is reported as skipped, not failed; nox's summary lists which versions passed.
"""

from __future__ import annotations

import nox

#: the CPythons ``requires-python`` admits and this project tests
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    session.install(".[test]")
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)
