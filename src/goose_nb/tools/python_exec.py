"""The ``python`` tool: run code in the user's namespace, on the kernel's main thread.

Running where the user's own code runs means globals, ``display()`` and plots behave as if
the user had typed the code: a variable the model creates is there for the next cell, and
a figure appears in the cell. stdout and stderr are captured for the model (and shown in
the tool's block), the value of a last expression is displayed like a cell's result and its
short repr returned, and an exception comes back as its type, message and a traceback
trimmed to the model's own code. What the code displays while it runs is scrubbed of
secrets on its way to the notebook, as its printed output is on its way to the model.
"""

from __future__ import annotations

import ast
import contextlib
import io
import itertools
import linecache
import reprlib
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from goose_nb.failures import Failure
from goose_nb.tools.base import Tool, ToolContext, ToolOutcome, cap
from goose_nb.tools.fingerprints import Fingerprint, changed_names, fingerprints
from goose_nb.tools.variables import user_variables

#: prefix of the file name each run's code gets (``<goose-python-3>``), as IPython does
#: for cells: its source goes into ``linecache`` so tracebacks show the model's lines
FILENAME = "<goose-python"
_runs = itertools.count(1)
_TRACEBACK_LINES = 20
_repr = reprlib.Repr()
_repr.maxstring = 300
_repr.maxother = 300


class PythonArgs(BaseModel):
    code: str = Field(description="Python source to run in the notebook's namespace")


@dataclass
class PythonRun:
    """What one run of code produced."""

    stdout: str = ""
    stderr: str = ""
    value: Any = None
    has_value: bool = False
    error: BaseException | None = None
    traceback: str = ""

    def report(self) -> str:
        parts = []
        if self.stdout:
            parts.append(f"stdout:\n{self.stdout.rstrip()}")
        if self.stderr:
            parts.append(f"stderr:\n{self.stderr.rstrip()}")
        if self.has_value:
            parts.append(f"result: {_repr.repr(self.value)}")
        if self.error is not None:
            parts.append(f"error: {type(self.error).__name__}: {self.error}")
            if self.traceback:
                parts.append(f"traceback:\n{self.traceback.rstrip()}")
        return cap("\n".join(parts) or "(ran with no output)")


def _trimmed_traceback(error: BaseException) -> str:
    """Only the frames of the model's code and below, at most the last lines."""
    frames = traceback.extract_tb(error.__traceback__)
    start = next(
        (i for i, f in enumerate(frames) if f.filename.startswith(FILENAME)), len(frames)
    )
    lines = traceback.format_list(frames[start:]) + traceback.format_exception_only(error)
    text = "".join(lines).splitlines()
    return "\n".join(text[-_TRACEBACK_LINES:])


def _scrubbed_data(value: Any, scrub: Callable[[str], str]) -> Any:
    """A display's text (or JSON) value with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrubbed_data(item, scrub) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed_data(item, scrub) for key, item in value.items()}
    return value


@contextlib.contextmanager
def _scrubbed_displays(scrub: Callable[[str], str]) -> Iterator[None]:
    """While the model's code runs, every display it publishes has its text and JSON
    representations scrubbed (images and other binary data pass as they are)."""
    from IPython import get_ipython

    publisher = getattr(get_ipython(), "display_pub", None)
    if publisher is None:
        yield
        return
    patched_before = "publish" in vars(publisher)
    publish = publisher.publish

    def scrubbed_publish(data: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        data = {mime: _scrubbed_data(value, scrub)
                if mime.startswith("text/") or mime.endswith("json") else value
                for mime, value in data.items()}
        return publish(data, *args, **kwargs)

    publisher.publish = scrubbed_publish
    try:
        yield
    finally:
        if patched_before:
            publisher.publish = publish
        else:
            del publisher.publish


def execute(code: str, namespace: dict[str, Any], scrub: Callable[[str], str]) -> PythonRun:
    """Run ``code`` in ``namespace`` (call on the main thread), its displays passed through
    ``scrub``. Never raises, except ``KeyboardInterrupt``, which must reach the runtime so
    it can cancel the turn."""
    result = PythonRun()
    stdout, stderr = io.StringIO(), io.StringIO()
    filename = f"{FILENAME}-{next(_runs)}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    try:  # compiling can fail after parsing did: 'return' / 'await' outside function
        tree = ast.parse(code, filename=filename)
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        if last is not None:
            tree.body.pop()
        body = compile(tree, filename, "exec")
        tail = compile(ast.Expression(last.value), filename, "eval") if last else None
    # ValueError: null bytes (before 3.12); MemoryError / RecursionError: too deeply nested
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        if isinstance(exc, SyntaxError) and exc.text is None and exc.lineno:
            exc.text = linecache.getline(filename, exc.lineno) or None  # compile() has none
        result.error = exc
        result.traceback = "".join(traceback.format_exception_only(exc)).rstrip()
        return result
    with _scrubbed_displays(scrub):
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                exec(body, namespace)
                if tail is not None:
                    result.value = eval(tail, namespace)
                    result.has_value = result.value is not None
        except Exception as exc:
            result.error = exc
            result.traceback = _trimmed_traceback(exc)
        except SystemExit as exc:  # the model called exit(): it must not end the kernel
            result.error = exc
        result.stdout, result.stderr = stdout.getvalue(), stderr.getvalue()
        if result.has_value:
            from IPython.display import display

            display(result.value)
    return result


async def run_python(args: PythonArgs, context: ToolContext) -> ToolOutcome:
    if not context.track_changes:
        run = await context.run_in_main(
            lambda: execute(args.code, context.namespace, context.scrub))
        changed: dict[str, Fingerprint] = {}
    else:
        run, changed = await context.run_in_main(lambda: _tracked(args.code, context))
    failure = Failure("python_error", type(run.error).__name__) if run.error else None
    return ToolOutcome(run.report(), failure, changed=changed)


def _tracked(code: str, context: ToolContext) -> tuple[PythonRun, dict[str, Fingerprint]]:
    """``execute``, and the user's names it bound, rebound or changed, each with its
    fingerprint after the call (for lineage)."""
    before = fingerprints(user_variables(context.namespace, context.hidden))
    run = execute(code, context.namespace, context.scrub)
    after = fingerprints(user_variables(context.namespace, context.hidden))
    return run, {name: after[name] for name in changed_names(before, after)}


PYTHON_TOOL = Tool(
    name="python",
    description=(
        "Run Python code in the user's notebook kernel, in the user's namespace: variables "
        "you assign stay available to the user and to later calls, display() and plots "
        "appear in the notebook. Returns stdout, stderr, the repr of the last expression, "
        "and on an exception its type, message and traceback."
    ),
    arguments=PythonArgs,
    run=run_python,
)
