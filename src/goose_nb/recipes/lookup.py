"""Where recipes are found by name.

The documented order, first match wins: an explicit path; the current folder; ``./recipes``;
each ``GOOSE_RECIPE_PATH`` entry (``os.pathsep``-separated); ``./.goose/recipes``;
``~/.config/goose/recipes``; in each folder ``NAME``, ``NAME.yaml``, ``NAME.yml`` and
``NAME.json`` are tried. Goose itself sorts these folders alphabetically, which makes the
winner depend on where the folders happen to live; goose_nb keeps the documented order.
Last of all come the recipes built into goose_nb (package data, ``goose_nb/recipes/builtin``),
so that they work from any folder of any install, and a user's recipe of the same name wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from goose_nb.errors import RecipeError

RECIPE_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".json")
#: the recipes shipped inside the package; wheels are installed unpacked, so this is a folder
BUILTIN_FOLDER = Path(str(resources.files("goose_nb.recipes").joinpath("builtin")))
#: how ``%goose_recipe list`` names that folder
BUILTIN_LABEL = "built-in"


@dataclass(frozen=True)
class RecipeFolder:
    """A folder searched for recipes, and how the user would name it."""

    path: Path
    label: str


def search_folders(recipe_path: str | None = None, *, cwd: Path | None = None,
                   home: Path | None = None) -> list[RecipeFolder]:
    """The folders searched, in order, without duplicates. ``recipe_path`` is the
    ``GOOSE_RECIPE_PATH`` value (``None``: the environment's; ``""``: none); the magics
    and the session pass the session's setting."""
    cwd = cwd or Path.cwd()
    home = home or Path.home()
    if recipe_path is None:
        recipe_path = os.environ.get("GOOSE_RECIPE_PATH", "")
    folders = [RecipeFolder(cwd, "current folder"), RecipeFolder(cwd / "recipes", "./recipes")]
    for entry in recipe_path.split(os.pathsep):
        if entry.strip():
            path = Path(entry.strip()).expanduser()
            folders.append(RecipeFolder(path if path.is_absolute() else cwd / path,
                                        "GOOSE_RECIPE_PATH"))
    folders += [RecipeFolder(cwd / ".goose" / "recipes", "./.goose/recipes"),
                RecipeFolder(home / ".config" / "goose" / "recipes", "~/.config/goose/recipes"),
                RecipeFolder(BUILTIN_FOLDER, BUILTIN_LABEL)]
    unique: dict[Path, RecipeFolder] = {}
    for folder in folders:
        unique.setdefault(folder.path.resolve(), folder)
    return list(unique.values())


def _candidates(base: Path) -> list[Path]:
    return [base, *(base.with_name(base.name + suffix) for suffix in RECIPE_SUFFIXES)]


def _not_found(path: Path, name: str) -> str:
    """Why a recipe path found nothing, in the fewest words: a folder that is missing,
    else the names tried (the suffixes only when the name has none)."""
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    if path.suffix in RECIPE_SUFFIXES:
        return "no such file"
    return f"tried {name} and {name}.yaml, .yml, .json"


def looks_like_path(name: str) -> bool:
    """A name with a folder in it (``recipes/x``, ``./x.yaml``, ``~/x``) is a path."""
    return "/" in name or os.sep in name or name.startswith("~") or Path(name).is_absolute()


def find_recipe(name_or_path: str, recipe_path: str | None = None, *,
                cwd: Path | None = None, home: Path | None = None) -> tuple[Path, RecipeFolder]:
    """The file a name stands for and the folder it was found in; a ``RecipeError`` that
    says where it looked otherwise."""
    name = name_or_path.strip()
    if not name:
        raise RecipeError("no recipe name given; `%goose_recipe list` shows the recipes found")
    cwd = cwd or Path.cwd()
    if looks_like_path(name):
        path = Path(name).expanduser()
        path = path if path.is_absolute() else cwd / path
        found = next((p for p in _candidates(path) if p.is_file()), None)
        if found is None:
            raise RecipeError(f"no recipe file at {name} ({_not_found(path, name)})")
        return found, RecipeFolder(found.parent, "path")
    folders = search_folders(recipe_path, cwd=cwd, home=home)
    for folder in folders:
        for candidate in _candidates(folder.path / name):
            if candidate.is_file():
                return candidate, folder
    looked = ", ".join(_show(f.path, cwd) for f in folders)
    raise RecipeError(f"no recipe named {name!r}: looked for {name}, {name}.yaml, "
                      f"{name}.yml and {name}.json in {looked}")


def _show(path: Path, cwd: Path) -> str:
    """A folder as short as it can be said: relative to the current folder or home."""
    try:
        relative = path.resolve().relative_to(cwd.resolve())
        return f"./{relative}" if str(relative) != "." else "."
    except ValueError:
        pass
    try:
        return f"~/{path.resolve().relative_to(Path.home().resolve())}"
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class RecipeFile:
    """A recipe file found by ``recipe_files``: the name it answers to, and where."""

    name: str
    path: Path
    folder: RecipeFolder
    #: the earlier file of the same name that wins the lookup, if any
    shadowed_by: Path | None = None


def recipe_files(recipe_path: str | None = None, *, cwd: Path | None = None,
                 home: Path | None = None) -> list[RecipeFile]:
    """Every ``.yaml``/``.yml``/``.json`` file in the search folders, in lookup order;
    a later file with an earlier one's name is marked as shadowed."""
    winners: dict[str, Path] = {}
    files: list[RecipeFile] = []
    for folder in search_folders(recipe_path, cwd=cwd, home=home):
        if not folder.path.is_dir():
            continue
        paths = sorted((p for p in folder.path.iterdir()
                        if p.suffix in RECIPE_SUFFIXES and p.is_file()),
                       key=lambda p: (p.stem, RECIPE_SUFFIXES.index(p.suffix)))
        for path in paths:
            files.append(RecipeFile(path.stem, path, folder, winners.get(path.stem)))
            winners.setdefault(path.stem, path)
    return files
