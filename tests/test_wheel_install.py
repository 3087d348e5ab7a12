"""What a user gets from ``pip install goose_nb``: the wheel, installed into a fresh virtual
environment and used from a folder outside the repository, serves the built-in recipes and
replays a cassette given by absolute path.

The fresh environment reuses this one's packages through a ``.pth`` file (a venv made from
a venv does not see the first one's packages with ``--system-site-packages``), so the test
needs no network. Only this environment's editable hook is not picked up (``.pth`` files in
a folder named by another ``.pth`` file are not run), so ``goose_nb`` comes from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILT_IN = ["chart-maker", "code-reviewer", "data-profiler", "test-writer"]
CASSETTE = REPO / "notebooks" / "cassettes" / "quickstart.yaml"

#: run in the fresh environment, in an empty folder: each cell's outputs, then its status
SCRIPT = textwrap.dedent('''
    import goose_nb
    from IPython.terminal.interactiveshell import TerminalInteractiveShell

    print("goose_nb from", goose_nb.__file__)
    shell = TerminalInteractiveShell.instance()
    shell.display_formatter.active_types = ["text/plain"]
    for cell in [
        "%load_ext goose_nb",
        "%goose_recipe list",
        "%goose_recipe show data-profiler",
        "%%goose\\nIn two short bullet points, what can you help me with in this notebook?",
    ]:
        result = shell.run_cell(cell)
        print("CELL", cell.splitlines()[0], "ok" if result.success else "FAILED", flush=True)
''')


def run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=240, **kwargs)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """goose_nb's wheel, built from a copy of the sources (so no build/ or egg-info lands in
    the checkout), without build isolation: setuptools comes from the test extras."""
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(REPO / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheels")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--wheel-dir", out, source)
    (built,) = out.glob("goose_nb-*.whl")
    return built


def test_the_wheel_holds_the_built_in_recipes(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"goose_nb/recipes/builtin/{name}.yaml" for name in BUILT_IN} <= names
    assert not any(name.startswith(("recipes/", "tests/", "notebooks/")) for name in names)


def test_an_installed_wheel_works_from_any_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"
                       ).stdout.strip())
    (purelib / "test-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # --ignore-installed: where this environment holds goose_nb as a plain install (nox),
    # pip would see it through the .pth file and install nothing (nor may it uninstall it)
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
        "--quiet", wheel)

    folder = tmp_path / "elsewhere"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOOSE_", "OPENAI_", "ANTHROPIC_", "OLLAMA_", "PYTHON"))}
    env.update(GOOSE_PROVIDER="replay", GOOSE_NB_CASSETTE=str(CASSETTE),
               GOOSE_CONFIG_PATH=str(folder / "absent.yaml"), HOME=str(folder))
    shown = run(python, "-c", SCRIPT, cwd=folder, env=env).stdout

    assert f"goose_nb from {purelib / 'goose_nb' / '__init__.py'}" in shown
    assert "FAILED" not in shown, shown
    for name in BUILT_IN:
        assert f"built-in: goose_nb/recipes/builtin/{name}.yaml" in shown
    assert "Recipes (4)" in shown
    assert "DataFrame Profiler (data-profiler)" in shown
    assert "**Exploring data**" in shown or "Exploring data" in shown
