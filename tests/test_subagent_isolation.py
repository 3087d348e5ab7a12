"""A subagent reads the user's data and never changes it: in-place changes, rebinding and
``get_ipython().user_ns`` all stay in the subagent's own namespace."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from model_server import ModelServer, ReceivedRequest, Reply, openai_reply, python_call
from test_subagents import statuses, steps_before, tool_contents

from goose_nb.session import Session
from goose_nb.tools.namespaces import CopyOnReadNamespace, UncopyableVariable


class CopyCounter:
    """A value that counts how often it is deep-copied."""

    copies = 0

    def __deepcopy__(self, memo: dict) -> CopyCounter:
        CopyCounter.copies += 1
        return CopyCounter()


def scripted(*codes: str) -> Callable[[ReceivedRequest], Reply]:
    """Each subagent runs ``codes`` as python calls, one per step, then answers with the
    last tool result."""

    def respond(request: ReceivedRequest) -> Reply:
        step = steps_before(request)
        if step < len(codes):
            return openai_reply(tool_calls=[python_call(f"p{step}", codes[step])])
        return openai_reply(tool_contents(request)[-1])

    return respond


@pytest.fixture
def session(model_server: ModelServer, make_session: Callable[..., Session], tmp_path,
            monkeypatch) -> Session:
    monkeypatch.chdir(tmp_path)
    built = make_session(model_server, "openai", GOOSE_MODEL="gpt-test")
    built.namespace = {}
    return built


def test_in_place_changes_stay_in_the_subagent(session, model_server):
    shared, table = [1], {"k": "user"}
    session.namespace.update(shared=shared, table=table)
    model_server.responder = scripted(
        "shared.append('SUB')\ntable['k'] = 'SUB'",
        "print(shared, table)",  # a later step of the same subagent sees its own changes
    )
    summary = session.run_subagents(["change the user's objects"])
    assert statuses(summary) == ["success"]
    assert "[1, 'SUB'] {'k': 'SUB'}" in summary.task_results[0].result
    assert shared == [1] and table == {"k": "user"}
    assert session.namespace["shared"] is shared


def test_functions_the_subagent_defines_see_its_copies(session, model_server):
    shared = [1]
    session.namespace.update(shared=shared)
    model_server.responder = scripted(
        "def grow():\n    shared.append(2)\n    return shared\nprint(grow())")
    summary = session.run_subagents(["grow it"])
    assert "[1, 2]" in summary.task_results[0].result
    assert shared == [1]


def test_a_value_that_cannot_be_copied_is_refused_by_name(session, model_server):
    lock = threading.Lock()
    session.namespace.update(lock=lock, rows=[1, 2])
    model_server.responder = scripted("print(len(rows))\nlock.acquire()")
    summary = session.run_subagents(["take the lock"])
    result = summary.task_results[0].result or ""
    assert "UncopyableVariable" in result and "'lock'" in result
    assert not lock.locked()


def test_listing_variables_copies_nothing_and_reading_copies_once():
    source = {"big": CopyCounter(), "n": 3}
    namespace = CopyOnReadNamespace(source)
    CopyCounter.copies = 0
    assert set(namespace) == {"big", "n"} and "big" in namespace and len(namespace) == 2
    assert namespace.readable()["big"] is source["big"]
    assert CopyCounter.copies == 0
    first = namespace["big"]
    assert namespace["big"] is first and first is not source["big"]
    assert CopyCounter.copies == 1
    assert namespace.get("missing", "default") == "default"


def test_modules_and_functions_are_shared_not_copied():
    import json

    def helper() -> int:
        return 1

    namespace = CopyOnReadNamespace({"json": json, "helper": helper})
    assert namespace["json"] is json and namespace["helper"] is helper


def test_uncopyable_is_a_name_error_naming_the_variable():
    namespace = CopyOnReadNamespace({"lock": threading.Lock()})
    with pytest.raises(UncopyableVariable, match="'lock' cannot be copied"):
        namespace["lock"]
    assert issubclass(UncopyableVariable, NameError)


def test_get_ipython_user_ns_is_the_subagents_in_a_shell(shell, model_server, make_session,
                                                          tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, "openai", GOOSE_MODEL="gpt-test")
    session.namespace, session.hidden_names = shell.user_ns, frozenset(shell.user_ns_hidden)
    shell.user_ns.update(y="user", items=["user"])
    model_server.responder = scripted(
        "ns = get_ipython().user_ns\nns['y'] = 'SUB'\nns['items'].append('SUB')\n"
        "print(y, items, ns is globals())")
    try:
        summary = session.run_subagents(["reach for the user's namespace"])
        assert "SUB ['user', 'SUB'] True" in (summary.task_results[0].result or "")
        assert shell.user_ns["y"] == "user" and shell.user_ns["items"] == ["user"]
        assert "ns" not in shell.user_ns
    finally:
        for name in ("y", "items"):
            shell.user_ns.pop(name, None)
