"""The public API of ``tasknb``: explicit exports, lazy heavy names, one exception tree."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tasknb
from tasknb import errors


def test_every_exported_name_resolves() -> None:
    assert len(tasknb.__all__) == len(set(tasknb.__all__))
    for name in tasknb.__all__:
        assert getattr(tasknb, name) is not None, name


def test_lazy_names_load_their_module_only_on_access() -> None:
    code = (
        "import sys, tasknb\n"
        "assert 'tasknb.frames' not in sys.modules and 'pandas' not in sys.modules\n"
        "f = tasknb.tasks_df\n"
        "assert 'tasknb.frames' in sys.modules and callable(f)\n"
        "assert tasknb.tasks_df is f\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tasknb.nope  # noqa: B018
    assert "tasks_df" in dir(tasknb) and "connect" in dir(tasknb)


def test_one_exception_tree() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, tasknb.TasknbError), name
    assert issubclass(tasknb.TaskNotFound, tasknb.NotFound)
    assert issubclass(tasknb.ServiceUnavailable, tasknb.ServerError)
    assert issubclass(tasknb.InvalidIdentifier, ValueError)


def test_api_errors_pickle_and_read_as_one_line() -> None:
    import pickle

    err = tasknb.TaskNotFound(404, "002003", "Task 'DB.S.X'\ndoes not exist.", "rid-1")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is tasknb.TaskNotFound and str(again) == str(err)
    assert str(err) == "Task 'DB.S.X' does not exist. (code 002003, request rid-1)"
    assert "\n" not in str(err)
    assert repr(err).startswith("TaskNotFound(status=404, code='002003'")


@pytest.mark.parametrize(
    "module",
    [
        "tasknb",
        "tasknb.errors",
        "tasknb.identifiers",
        "tasknb._secret",
        "tasknb.auth",
        "tasknb.config",
        "tasknb.client",
        "tasknb.client._http",
        "tasknb.client._tasks",
        "tasknb.models",
    ],
)
def test_docstring_examples_hold(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
