"""Every worker and queue default has one source (p2pstore.jobs.options, p2pstore.status), and
the commands' --help shows those values."""

from __future__ import annotations

import dataclasses
import inspect

from click.testing import CliRunner

from p2pstore.cli import cli
from p2pstore.jobs import enqueue, schedules
from p2pstore.jobs.options import DEFAULT_MAX_ATTEMPTS, DEFAULT_PRIORITY, WORKER_DEFAULTS, WorkerOptions
from p2pstore.jobs.worker import WorkerOptions as WorkerOptionsOfTheWorker
from p2pstore.status import BACKOFF_BASE_S, BACKOFF_CAP_S
from p2pstore.store import RunRequest
from p2pstore.store.queue import runs
from p2pstore.store.schema import Run, Schedule

#: worker option -> WorkerOptions field
WORKER_FLAGS = {"--concurrency": "concurrency", "--poll": "poll", "--heartbeat": "heartbeat",
                "--stale-after": "stale_after", "--backoff": "backoff_base", "--grace": "grace",
                "--schedule-sync": "schedule_sync", "--connect-retry": "connect_retry"}


def _help(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split()).split(" Options: ", 1)[1]


def _option_help(text: str, flag: str) -> str:
    """The help of ``flag`` in a whitespace-normalised --help's options: up to the next option."""
    start = text.index(f"{flag} ")
    nxt = text.find(" --", start + len(flag) + 2)
    return text[start:nxt if nxt > 0 else None]


def _shows_default(option_help: str, value) -> bool:
    """``[default: VALUE]`` or ``[default: VALUE; x>=...]`` (click adds the range)."""
    return f"[default: {value}]" in option_help or f"[default: {value};" in option_help


def test_worker_help_shows_the_worker_options_defaults():
    text = _help("worker")
    for flag, field in WORKER_FLAGS.items():
        assert _shows_default(_option_help(text, flag), getattr(WORKER_DEFAULTS, field)), flag
    assert f"(max {WORKER_DEFAULTS.backoff_cap:g} s)" in _option_help(text, "--backoff")
    command = cli.get_command(None, "worker")
    defaults = {p.opts[0]: p.default for p in command.params}
    assert {flag: defaults[flag] for flag in WORKER_FLAGS} == {
        flag: getattr(WorkerOptions(), field) for flag, field in WORKER_FLAGS.items()}


def test_enqueue_and_schedule_help_show_the_queue_defaults():
    for command in (("enqueue",), ("schedule", "add")):
        text = _help(*command)
        assert _shows_default(_option_help(text, "--max-attempts"), DEFAULT_MAX_ATTEMPTS), command
        assert _shows_default(_option_help(text, "--priority"), DEFAULT_PRIORITY), command


def test_one_source_for_max_attempts_and_backoff():
    for fn in (enqueue.check_runs, enqueue.enqueue, enqueue.plan_sweep, enqueue.enqueue_sweep,
               schedules.check_schedule, schedules.add_schedule):
        assert inspect.signature(fn).parameters["max_attempts"].default == DEFAULT_MAX_ATTEMPTS, fn
    assert inspect.signature(RunRequest).parameters["max_attempts"].default == DEFAULT_MAX_ATTEMPTS
    assert Run.__table__.c.max_attempts.default.arg == DEFAULT_MAX_ATTEMPTS
    assert Schedule.__table__.c.max_attempts.default.arg == DEFAULT_MAX_ATTEMPTS
    assert (runs.BACKOFF_BASE_S, runs.BACKOFF_CAP_S) == (BACKOFF_BASE_S, BACKOFF_CAP_S)
    assert WorkerOptionsOfTheWorker is WorkerOptions
    assert {f.name: f.default for f in dataclasses.fields(WorkerOptions)}["backoff_cap"] == BACKOFF_CAP_S
