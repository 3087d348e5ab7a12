"""What a subagent's copy-on-read namespace costs, on a large DataFrame.

Run with ``.venv/bin/python benchmarks/subagent_namespace.py``. A subagent's namespace
(``goose_nb/tools/namespaces.py``) deep-copies a user's value the first time the subagent
reads it. This measures, on a DataFrame of ``--rows`` rows and 10 float columns, in one run:

- the first read by name (the deep copy) against a read of a plain dict;
- a later read (already copied) against a plain dict;
- listing the variables (``list_variables``, which describes without copying);
- the memory the copy adds, from the DataFrame's own size.

Each figure is the median of ``--runs`` runs; the ratios are against the plain dict read in
the same run. pandas and numpy are needed (``make demo``'s extra installs them).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from goose_nb.tools.namespaces import CopyOnReadNamespace
from goose_nb.tools.variables import list_variables


def timed(action: Callable[[], object], runs: int) -> float:
    """Median seconds of ``action`` over ``runs`` runs."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    frame = pd.DataFrame(np.random.default_rng(0).random((args.rows, 10)),
                         columns=[f"c{i}" for i in range(10)])
    source = {"df": frame, "n": 1}
    plain = dict(source)

    first = timed(lambda: CopyOnReadNamespace(source)["df"], args.runs)
    copied = CopyOnReadNamespace(source)
    copied["df"]
    later = timed(lambda: copied["df"], args.runs * 1000) or 1e-9
    baseline = timed(lambda: plain["df"], args.runs * 1000) or 1e-9
    listing = timed(lambda: list_variables(CopyOnReadNamespace(source).readable()), args.runs)
    megabytes = frame.memory_usage(deep=True).sum() / 1e6

    print(f"DataFrame: {args.rows:,} rows x 10 float columns, {megabytes:,.0f} MB")
    print(f"first read (deep copy):  {first * 1e3:9.1f} ms")
    print(f"later read:              {later * 1e9:9.0f} ns  ({later / baseline:.1f}x a dict)")
    print(f"plain dict read:         {baseline * 1e9:9.0f} ns")
    print(f"list_variables, no copy: {listing * 1e3:9.1f} ms")
    print(f"memory added by the copy: {megabytes:,.0f} MB, once per subagent that reads it")


if __name__ == "__main__":
    main()
