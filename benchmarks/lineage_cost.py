"""What lineage tracking adds to a python tool call, with a large DataFrame in the namespace.

Run with ``.venv/bin/python benchmarks/lineage_cost.py``. Every python call the agent makes
in the user's namespace fingerprints the user's variables before and after it
(``goose_nb/tools/fingerprints.py``) to tell which ones it changed. This measures, with a
DataFrame of ``--rows`` rows and 10 float columns (and a few small values) in the namespace,
in one run, the median of ``--runs`` calls of:

- a call that changes nothing of the frame (``x = 1``), run plain and tracked;
- a call that adds a column to the frame (``df["c10"] = 1.0``), run plain and tracked;

and reports the milliseconds tracking adds and the ratio tracked / plain.

It also measures what every turn pays first for ``%goose export --check``: the copy of the
user's variables kept before the turn (``goose_nb/lineage/check.py``'s ``TurnInputs``),
with that frame in the namespace (80 MB at 1,000,000 rows: over the 50 MB kept, so left
out) and with a frame of ``--kept-rows`` rows (copied), against the same deep copy done
plainly. pandas and numpy are needed (``make demo``'s extra installs them).
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable

import numpy as np
import pandas as pd
from subagent_namespace import timed  # this folder's: the same median timing

from goose_nb.config import Settings
from goose_nb.lineage.check import TurnInputs, size_of
from goose_nb.tools.base import ToolContext
from goose_nb.tools.python_exec import _tracked, execute
from goose_nb.tools.variables import user_variables

#: what a session keeps before a turn by default (GOOSE_NB_CHECK_MEMORY_MB=50)
LIMIT = Settings().check_memory_mb * 1_000_000


def frame_of(rows: int) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(0).random((rows, 10)),
                        columns=[f"c{i}" for i in range(10)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--kept-rows", type=int, default=400_000)
    args = parser.parse_args()
    small = {"items": list(range(1000)), "lookup": {i: i for i in range(100)},
             "name": "sales"}
    namespace = {"df": frame_of(args.rows), **small}

    async def in_main(function: Callable[[], object]) -> object:
        return function()

    context = ToolContext(namespace=namespace, run_in_main=in_main, scrub=str,
                          track_changes=True)
    print(f"lineage tracking per python call, a {args.rows:,}-row x 10 DataFrame in the "
          f"namespace, median of {args.runs}:")
    for label, code in (("x = 1", "x = 1"), ("add a column", "df['c10'] = 1.0")):
        plain = timed(lambda code=code: execute(code, namespace, str), args.runs)
        tracked = timed(lambda code=code: _tracked(code, context), args.runs)
        print(f"  {label:14s} plain {plain * 1000:7.3f} ms  tracked {tracked * 1000:7.3f} ms  "
              f"+{(tracked - plain) * 1000:.3f} ms  ({tracked / plain:.1f}x)")
    print(f"the copy kept before each turn for --check, median of {args.runs}:")
    for rows, variables in ((args.rows, namespace),
                            (args.kept_rows, {"df": frame_of(args.kept_rows), **small})):
        found = user_variables(variables)
        kept = TurnInputs.keep(found, LIMIT)
        copied = sum(size_of(value) for value in kept.values.values())
        turn = timed(lambda found=found: TurnInputs.keep(found, LIMIT), args.runs)
        plain = timed(lambda variables=variables: copy.deepcopy(variables["df"]), args.runs)
        print(f"  {rows:>9,}-row frame ({size_of(variables['df']) / 1e6:.0f} MB): "
              f"{turn * 1000:7.3f} ms a turn, {copied / 1e6:.1f} MB copied"
              + (", the frame left out (over the limit)" if "df" in kept.left_out else "")
              + f"; the frame's own deep copy {plain * 1000:.3f} ms")


if __name__ == "__main__":
    main()
