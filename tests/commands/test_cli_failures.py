"""What ``dlfaq`` prints and returns for each kind of failure (``dlfaq.cli._HANDLERS``).

A command that raises is simulated by replacing the FAQ loader ``dlfaq list`` calls; each
kind must end as one line on stderr with its exit code, and ``--traceback`` must let the
exceptions that are bugs or file-system refusals through unchanged.
"""

from __future__ import annotations

import signal

import pytest

import dlfaq.faq
from dlfaq.cli import main
from dlfaq.commands._common import UserError

# (exception raised inside the command, exit code, the line on stderr; None: nothing printed)
CASES = [
    (UserError("--top must be between 1 and 18, not 0"), 2, "dlfaq: error: --top must be between 1 and 18, not 0"),
    (UserError("first\nsecond\nthird\nfourth"), 2, "dlfaq: error: first"),  # at most 3 lines
    (RuntimeError("boom\nC++ frames"), 1, "dlfaq: internal error: RuntimeError: boom (run again with --traceback "
                                          "for details, and please report it)"),
    (PermissionError(13, "Permission denied", "/x/y"), 2, "dlfaq: error: Permission denied: '/x/y'"),
    (MemoryError(), 1, "dlfaq: error: out of memory"),
    (KeyboardInterrupt(), 130, "dlfaq: interrupted"),
]


@pytest.fixture
def failing_list(monkeypatch):
    """Make `dlfaq list` raise ``exc``; restore Ctrl-C handling afterwards (the handler ignores SIGINT)."""
    previous = signal.getsignal(signal.SIGINT)

    def arm(exc: BaseException) -> None:
        def load_all():
            raise exc

        monkeypatch.setattr(dlfaq.faq, "load_all", load_all)

    yield arm
    signal.signal(signal.SIGINT, previous)


def _exit(args: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as info:
        main(args)
    return info.value.code


@pytest.mark.parametrize(("exc", "code", "line"), CASES,
                         ids=["user-error", "long-user-error", "bug", "os-error", "memory", "ctrl-c"])
def test_each_kind_of_failure_is_one_line_with_its_exit_code(exc, code, line, failing_list, capsys):
    failing_list(exc)
    assert _exit(["list"]) == code
    err = capsys.readouterr().err
    first = err.splitlines()[0] if err else ""
    assert first == line, err
    assert len(err.splitlines()) <= 3, err
    assert "Traceback" not in err


@pytest.mark.parametrize("exc", [RuntimeError("boom"), PermissionError(13, "Permission denied", "/x/y")])
def test_traceback_lets_bugs_and_refusals_through(exc, failing_list):
    failing_list(exc)
    with pytest.raises(type(exc)):
        main(["--traceback", "list"])


def test_a_nul_byte_in_an_argument_is_a_user_error(capsys):
    assert _exit(["show", "3\0"]) == 2
    assert capsys.readouterr().err == "dlfaq: error: argument 2 contains a NUL byte\n"


def test_click_usage_errors_are_one_line(capsys):
    assert _exit(["run"]) == 2
    assert capsys.readouterr().err == "dlfaq: error: Missing argument 'ID|all'.\n"
