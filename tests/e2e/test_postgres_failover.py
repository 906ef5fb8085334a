"""runbooks/postgres-failover.yaml against a real primary and streaming replica."""

from __future__ import annotations

from tests.conftest import ROOT, run_cli
from tests.e2e.conftest import Cluster

RUNBOOK = "runbooks/postgres-failover.yaml"


def _run(cluster: Cluster, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli(
        ["run", RUNBOOK, *cluster.params(), *extra],
        cwd=ROOT,
        env={"RECOVERCTL_STATE_DIR": str(cluster.base / "state")},
        timeout=300,
    )


def test_dead_primary_fails_over_to_the_replica(cluster: Cluster) -> None:
    cluster.pg("pg_ctl", "-D", str(cluster.primary), "stop", "-m", "immediate")
    result = _run(cluster)
    assert result.returncode == 0, result.stderr
    assert "choose → promote the replica" in result.stderr
    # the new primary is out of recovery, takes writes, and is on a new timeline
    assert cluster.sql(cluster.replica_port, "select pg_is_in_recovery()") == "f"
    cluster.sql(cluster.replica_port, "insert into accounts values (2)")
    assert cluster.sql(cluster.replica_port, "select count(*) from accounts") == "2"
    timeline = cluster.sql(
        cluster.replica_port, "select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"
    )
    assert int(timeline, 16) >= 2
    # the old primary stays fenced
    assert cluster.pg("pg_ctl", "-D", str(cluster.primary), "status", check=False).returncode != 0


def test_failed_verification_rolls_back_the_promotion(cluster: Cluster) -> None:
    cluster.pg("pg_ctl", "-D", str(cluster.primary), "stop", "-m", "immediate")
    result = _run(cluster, "-p", "fail_verify=true")
    assert result.returncode == 1, result.stderr
    # the primary was already down: the fence found nothing to do (unchanged), so only the
    # promotion is compensated, and the old primary is not started behind the operator's back
    assert "unchanged fence_primary: skip_if check succeeded" in result.stderr
    assert "ROLLBACK step 'verify_writes' failed: exited with 1; undoing: promote" in result.stderr
    assert "undone   promote" in result.stderr
    assert "was promoted; rebuild it as a replica" in result.stderr
    assert cluster.pg("pg_ctl", "-D", str(cluster.primary), "status", check=False).returncode != 0


def test_running_primary_that_was_fenced_is_restarted_by_the_rollback(cluster: Cluster) -> None:
    # the primary runs but refuses connections: the runbook fences it, then the rollback restarts it
    cluster.sql(cluster.primary_port, "alter system set listen_addresses = ''")
    cluster.pg(
        "pg_ctl",
        "-D",
        str(cluster.primary),
        "-l",
        str(cluster.base / "primary.log"),
        "restart",
        "-w",
        "-m",
        "fast",
    )
    result = _run(cluster, "-p", "fail_verify=true")
    assert result.returncode == 1, result.stderr
    assert "undoing: promote → fence_primary" in result.stderr
    assert "undone   fence_primary" in result.stderr
    assert cluster.pg("pg_ctl", "-D", str(cluster.primary), "status", check=False).returncode == 0


def test_unhealthy_replica_takes_the_restart_path(cluster: Cluster) -> None:
    cluster.stop_all()
    result = _run(cluster)
    assert result.returncode == 0, result.stderr
    assert "choose → else" in result.stderr
    assert cluster.sql(cluster.primary_port, "select count(*) from accounts") == "1"
