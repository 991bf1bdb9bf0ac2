"""Background job errors in the console chat go to the log file, not into the conversation."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from pathlib import Path

import pytest

from app import jobs
from app.core import Core, setup_logging


class WhenFailed(logging.Handler):
    """Notes the scheduler's failure record (on the jobs logger, whatever the root does)."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("jobs.failed"):
            self.failed.set()


class Keyboard:
    """Standard input: the user asks for help, then waits for the failing tick, then leaves."""

    def __init__(self, failed: threading.Event) -> None:
        self.lines = ["/help\n"]
        self.failed = failed

    def readline(self) -> str:
        if self.lines:
            return self.lines.pop(0)
        assert self.failed.wait(30), "the scheduler tick never failed"
        return ""


def test_storage_errors_of_background_jobs_stay_out_of_the_chat(
    sample_copy: Core, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from channels.runner import run_console

    setup_logging(sample_copy.settings)  # as bot.py does: the log stream is the terminal
    watcher = WhenFailed()
    jobs_log = jobs.log
    jobs_log.addHandler(watcher)
    # A real storage failure in every scheduler tick: its lock table is gone.
    sample_copy.storage.db.execute("DROP TABLE locks")
    monkeypatch.setattr(sys, "stdin", Keyboard(watcher.failed))
    try:
        assert asyncio.run(run_console(sample_copy, ingest_first=False)) == 0
    finally:
        jobs_log.removeHandler(watcher)
    out, err = capsys.readouterr()
    assert watcher.failed.is_set()
    assert "/subscribe" in out  # the conversation went on
    terminal = out + err
    assert "Traceback" not in terminal and "jobs.failed" not in terminal
    assert "no such table" not in terminal
    log = Path(sample_copy.settings.database.path).with_name("console.log")
    text = log.read_text(encoding="utf-8")
    assert "jobs.failed" in text and "no such table: locks" in text
