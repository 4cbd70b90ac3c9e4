"""``p2pstore enqueue`` and ``runs cancel|retry|wait``: output, exit codes, nothing written on bad
input. Both backends."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from .conftest import SMALL, count, run_rows


def test_enqueue_sweep_prints_batch_and_ids(cli, store):
    r = cli("enqueue", "--sweep", "prosumers=3,5,7", "--seeds", "1..20", "--batch", "demo", *SMALL, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["batch"] == "demo" and len(out["run_ids"]) == 60
    rows = run_rows(store)
    assert {(row["status"], row["batch"], row["series"]) for row in rows} == {("queued", "demo", "none")}
    params = store.run_params(batch="demo")
    assert sorted(zip(params["prosumers"], params["seed"])) == sorted(
        (p, s) for p in (3, 5, 7) for s in range(1, 21))


def test_enqueue_options(cli, store):
    r = cli("enqueue", *SMALL, "--priority", "-3", "--max-attempts", "5", "--at", "2030-01-01T00:00:00+01:00",
            "--mechanism", "mmr")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("queued 1 run(s) in batch batch-")
    [row] = run_rows(store)
    assert (row["priority"], row["max_attempts"], row["mechanisms"]) == (-3, 5, "mmr")
    assert str(row["not_before"]).startswith("2029-12-31 23:00:00")


@pytest.mark.parametrize("args, message", [
    (["--sweep", "prosumers=3,0"], "scenario field 'prosumers'"),
    (["--sweep", "bogus=1,2"], "scenario field 'bogus'"),
    (["--sweep", "prosumers"], "--sweep expects KEY=V1"),
    (["--seeds", "5..1"], "range is empty"),
    (["--seeds", "a..b"], "--seeds expects A..B"),
    (["--seeds", "1..3", "--sweep", "seed=1,2"], "swept twice"),
    (["--seeds", "1..3", "--seed", "4"], "--seed or --seeds"),
    (["--at", "tomorrow"], "--at expects an ISO-8601"),
    (["--max-attempts", "0"], "--max-attempts must be >= 1"),
    (["--mechanism", "nope"], "unknown mechanism"),
])
def test_bad_enqueue_is_one_line_exit_2_and_writes_nothing(cli, store, args, message):
    r = cli("enqueue", *SMALL, *args)
    assert r.exit_code == 2, r.output
    assert message in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert count(store, "SELECT COUNT(*) FROM runs") == 0
    assert count(store, "SELECT COUNT(*) FROM scenarios") == 0


def test_cancel_retry_and_wait(cli, store):
    from p2pstore.store.queue import runs

    ids = json.loads(cli("enqueue", *SMALL, "--seeds", "1..4", "--batch", "b", "--json").output)["run_ids"]
    r = cli("runs", "cancel", str(ids[0]))
    assert r.exit_code == 0 and r.output.strip() == f"cancelled 1 run(s): {ids[0]}"
    r = cli("runs", "cancel", str(ids[0]))
    assert r.exit_code == 2 and "already cancelled" in r.output
    r = cli("runs", "cancel", "--batch", "b")
    assert r.exit_code == 0 and f"cancelled 3 run(s): {ids[1]}-{ids[3]}" in r.output
    r = cli("runs", "cancel", "--batch", "nope")
    assert r.exit_code == 2 and "no runs in batch 'nope'" in r.output
    r = cli("runs", "retry", str(ids[0]), str(ids[1]))
    assert r.exit_code == 0 and "requeued 2 run(s)" in r.output
    assert [store.get_run(i)["status"] for i in ids] == ["queued", "queued", "cancelled", "cancelled"]
    r = cli("runs", "retry", str(ids[0]))
    assert r.exit_code == 2 and "only failed or cancelled" in r.output
    r = cli("runs", "retry")
    assert r.exit_code == 2 and "give run ids or --failed" in r.output
    # settle two in-process, fail one for good, then wait reports and exits 1
    for _ in range(2):
        claim = runs.claim_next(store.engine, "t", 60)
        if claim.run_id == ids[1]:
            assert runs.fail(store.engine, claim, "RuntimeError: boom", retry=False) == "failed"
        else:
            from p2pstore.simulate import simulate

            assert store.write_results(claim.run_id, simulate(store.scenario_of(claim.run_id)), "none",
                                       claim=claim)
    r = cli("runs", "wait", str(ids[0]), str(ids[1]), "--timeout", "5", "--poll", "0.1")
    assert r.exit_code == 1, r.output
    assert "2 run(s): succeeded 1 | failed 1; database " in r.output and " while waiting" in r.output
    r = cli("runs", "wait", str(ids[0]), "--timeout", "5")
    assert r.exit_code == 0 and "succeeded 1" in r.output
    r = cli("runs", "retry", "--failed")
    assert r.exit_code == 0 and f"requeued 1 run(s): {ids[1]}" in r.output
    r = cli("runs", "wait", "--batch", "b", "--timeout", "0.3", "--poll", "0.1")
    assert r.exit_code == 2 and "timed out after 0.3 s" in r.output and len(r.output.strip().splitlines()) >= 1
    r = cli("runs", "wait", "999999", "--timeout", "1")
    assert r.exit_code == 2 and "do not exist" in r.output


def test_wait_prints_progress_with_eta_when_piped(cli, store, db_url):
    """Piped (stderr not a terminal), ``runs wait`` prints ``done/total`` lines with an ETA once
    runs finish; each run here is settled by the test, so the lines follow its steps."""
    import subprocess
    import sys

    from p2pstore.simulate import simulate
    from p2pstore.store.queue import runs

    def settle_one():
        claim = runs.claim_next(store.engine, "t", 60.0)
        assert store.write_results(claim.run_id, simulate(store.scenario_of(claim.run_id)), "none", claim=claim)

    cli("enqueue", *SMALL, "--seeds", "1..3", "--batch", "eta", "--json")
    settle_one()
    code = "import sys; from p2pstore.cli import main; main(sys.argv[1:])"
    proc = subprocess.Popen([sys.executable, "-c", code, "--db", db_url, "runs", "wait", "--batch", "eta",
                             "--poll", "0.05", "--report-every", "0.05", "--timeout", "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
        assert first.startswith("1/3 finished (succeeded 1 | queued 2") and "ETA unknown" in first, first
        settle_one()
        line = proc.stderr.readline()
        while line and not line.startswith("2/3"):
            line = proc.stderr.readline()
        assert re.search(r"^2/3 finished \(succeeded 2 \| queued 1 \| [\d.]+ runs/s\), ETA \d+(m\d\ds|s)$",
                         line.strip()), line
        settle_one()
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "3 run(s): succeeded 3" in out


def test_series_default_per_command(cli, store):
    """Queued runs (enqueue, schedule add) keep community series unless asked; a single run keeps
    every series. The defaults are shown in --help."""
    from p2pstore.cli.options import SERIES_DEFAULT

    assert SERIES_DEFAULT == {"run": "full", "enqueue": "community", "schedule add": "community"}
    assert cli("enqueue", "--days", "1", "--batch", "d").exit_code == 0
    assert cli("enqueue", "--days", "1", "--batch", "f", "--series", "full").exit_code == 0
    assert cli("schedule", "add", "s", "--cron", "0 2 * * *", "--days", "1").exit_code == 0
    assert {r["batch"]: r["series"] for r in run_rows(store)} == {"d": "community", "f": "full"}
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT series FROM schedules")).scalar_one() == "community"
    r = cli("run", "--days", "1", "--json")
    assert r.exit_code == 0, r.output
    assert run_rows(store, f"id = {json.loads(r.output)['run_id']}")[0]["series"] == "full"
    for command, default in SERIES_DEFAULT.items():
        text = " ".join(cli(*command.split(), "--help").output.split())
        assert f"[default: {default}]" in text, (command, text)
