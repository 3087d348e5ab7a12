"""The public face is exactly what the README documents (httpx's export test is the model):
a name added to ``goose_nb`` without documentation, or documented and gone, fails here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import goose_nb

README = Path(__file__).resolve().parents[1] / "README.md"


def documented_exports() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("What `goose_nb` exports", 1)[1].split("\n\n", 2)[1]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def test_the_exports_are_the_documented_names():
    assert sorted(goose_nb.__all__) == sorted(documented_exports())


def test_every_export_resolves_and_dir_lists_them():
    for name in goose_nb.__all__:
        assert getattr(goose_nb, name) is not None
    assert set(goose_nb.__all__) <= set(dir(goose_nb))


def test_importing_goose_nb_loads_nothing_heavy():
    """``%load_ext`` stays fast: the API is imported on first use, not with the package."""
    code = ("import sys, goose_nb; "
            "heavy = [m for m in ('goose_nb.session', 'httpx', 'pydantic') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_error_tree_in_the_docstring_is_the_class_hierarchy():
    from goose_nb import errors

    drawn: dict[str, str] = {}
    parents: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^( *)[*+-] (\w+)", line)
        if match:
            depth = len(match.group(1)) // 2
            parents[depth:] = [match.group(2)]
            if depth:
                drawn[match.group(2)] = parents[depth - 1]
    defined = {name: cls.__bases__[0].__name__ for name, cls in vars(errors).items()
               if isinstance(cls, type) and issubclass(cls, errors.GooseError)
               and cls is not errors.GooseError}
    assert drawn == defined
