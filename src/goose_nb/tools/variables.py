"""The ``list_variables`` tool: what the user has in the namespace, briefly.

DataFrames (pandas or polars) show their shape, columns with dtypes and a few rows; arrays
their shape and dtype; everything else its type and a short repr. Types are recognised by
their module name, so nothing is imported and the tool works without pandas or numpy.
IPython's own names, modules and private names are left out.
"""

from __future__ import annotations

import inspect
import reprlib
import types
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from goose_nb.tools.base import Tool, ToolContext, ToolOutcome, cap
from goose_nb.tools.namespaces import readable

_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})
_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlist = 8
_repr.maxdict = 8


class ListVariablesArgs(BaseModel):
    name: str | None = Field(
        default=None, description="Only this variable (more rows for a DataFrame)"
    )


def _module_of(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def describe_dataframe(value: Any, rows: int) -> str:
    module = _module_of(value)
    if module == "pandas":
        columns = ", ".join(f"{name}: {dtype}" for name, dtype in value.dtypes.items())
        head = value.head(rows).to_string(max_colwidth=40)
    else:  # polars
        columns = ", ".join(f"{name}: {dtype}" for name, dtype in value.schema.items())
        head = str(value.head(rows))
    shape = f"{value.shape[0]} rows × {value.shape[1]} columns"
    return f"{type(value).__name__} ({module}), {shape}\ncolumns: {columns}\n{head}"


def describe(value: Any, rows: int = 3) -> str:
    """One short description of a value, by what it is."""
    kind = type(value).__name__
    module = _module_of(value)
    if module in ("pandas", "polars") and kind == "DataFrame":
        return describe_dataframe(value, rows)
    if module in ("pandas", "polars") and kind == "Series":
        return f"Series ({module}), length {len(value)}, dtype {value.dtype}"
    if module == "numpy" and kind == "ndarray":
        return f"ndarray, shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, types.FunctionType | types.BuiltinFunctionType):
        try:
            return f"function {value.__name__}{inspect.signature(value)}"
        except (TypeError, ValueError):
            return f"function {value.__name__}"
    if isinstance(value, type):
        return f"class {value.__name__}"
    if isinstance(value, list | tuple | set | dict):
        return f"{kind} of {len(value)}: {_repr.repr(value)}"
    return f"{kind}: {_repr.repr(value)}"


def user_variables(
    namespace: Mapping[str, Any], hidden: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The names the user made: no modules, no private or IPython names."""
    return {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_")
        and name not in _IPYTHON_NAMES
        and name not in hidden
        and not isinstance(value, types.ModuleType)
    }


def list_variables(
    namespace: Mapping[str, Any], name: str | None = None, hidden: frozenset[str] = frozenset()
) -> str:
    variables = user_variables(namespace, hidden)
    if name is not None:
        if name not in namespace:
            return f"no variable named {name!r}; variables: {', '.join(variables) or '(none)'}"
        return cap(f"{name}: {describe(namespace[name], rows=10)}")
    if not variables:
        return "(no user variables yet)"
    return cap("\n".join(f"{n}: {describe(v)}" for n, v in variables.items()))


async def run_list_variables(args: ListVariablesArgs, context: ToolContext) -> ToolOutcome:
    text = await context.run_in_main(
        lambda: list_variables(readable(context.namespace), args.name, context.hidden)
    )
    return ToolOutcome(text)


LIST_VARIABLES_TOOL = Tool(
    name="list_variables",
    description=(
        "List the user's variables in the notebook: names, types and short summaries "
        "(DataFrames: shape, columns with dtypes and a few rows; arrays: shape and dtype). "
        "Pass name= to look at one variable more closely."
    ),
    arguments=ListVariablesArgs,
    run=run_list_variables,
    read_only=True,
)
