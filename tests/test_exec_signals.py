"""How `codex exec` takes SIGTERM and SIGHUP: the turn is interrupted (its commands killed and reaped, the
sandbox's placeholders removed) and exec exits with 128+N; nothing is raised at an arbitrary point of the main
thread, where an exception could be dropped by Python (inside an at-fork hook of `subprocess.Popen`) or leave a
just-started command unrecorded and running."""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from typing import cast

import pytest

from codex_cli import exec_cli
from codex_cli.session import TurnResult
from codex_cli.thread import Thread


class _Session:
    """Stands in for a Session whose turn is under way when the signal comes (and for the thread around it)."""

    hooks = None

    def __init__(self, signals: list[int]) -> None:
        self._signals = signals
        self.interrupted = threading.Event()
        self.closed = False
        self.raised: BaseException | None = None
        self.turn_id: str | None = None

    @property
    def session(self) -> _Session:
        return self

    def interrupt(self) -> None:
        self.interrupted.set()

    def close(self) -> None:
        self.closed = True

    def run_turn(self, items: list[dict[str, object]], prompt: str | None = None) -> TurnResult:
        self.turn_id = "turn-1"  # as Session.run_turn does first, after clearing its cancel flag
        try:
            for signum in self._signals:
                # One at a time: Python runs a handler once for signals that arrive before it could run.
                os.kill(os.getpid(), signum)
                deadline = time.monotonic() + 5  # it runs at one of the next bytecodes
                while not self.interrupted.is_set() and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(0.05)  # room for a late exception to arrive
        except BaseException as exc:  # what a command being started at this moment would have met
            self.raised = exc
            raise
        return TurnResult("interrupted")


def _leave(signum: int, frame: object) -> None:
    """What the sandbox installs once it holds placeholders, where nobody chose a handler."""
    raise SystemExit(128 + signum)


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_termination_interrupts_the_turn_instead_of_raising(name: str) -> None:
    signum = getattr(signal, name)
    session = _Session([signum])
    previous = signal.signal(signum, _leave)
    try:
        code = exec_cli._run_turn(cast(Thread, session), "hi", argparse.Namespace(), None)
        assert signal.getsignal(signum) is _leave  # put back once the turn is over
    finally:
        signal.signal(signum, previous)
    assert session.raised is None
    assert session.interrupted.is_set() and session.closed
    assert code == 128 + signum


def test_a_second_termination_signal_ends_at_once() -> None:
    session = _Session([signal.SIGTERM, signal.SIGTERM])
    previous = signal.signal(signal.SIGTERM, _leave)
    try:
        with pytest.raises(SystemExit) as ended:
            exec_cli._run_turn(cast(Thread, session), "hi", argparse.Namespace(), None)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert ended.value.code == 143 and session.closed


def test_termination_before_the_turn_starts_ends_at_once() -> None:
    """Session.run_turn clears its cancel flag as it starts: an interrupt before that would be lost."""
    session = _Session([])
    previous = signal.signal(signal.SIGTERM, _leave)
    real_run_turn = session.run_turn

    def signalled_first(items: list[dict[str, object]], prompt: str | None = None) -> TurnResult:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)  # the handler runs in here
        return real_run_turn(items, prompt)

    session.run_turn = signalled_first  # type: ignore[method-assign]
    try:
        with pytest.raises(SystemExit) as ended:
            exec_cli._run_turn(cast(Thread, session), "hi", argparse.Namespace(), None)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert ended.value.code == 143 and session.closed and session.turn_id is None
