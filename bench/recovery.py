"""Recovery figures (issue 9): seconds until every job completes after the whole worker is SIGKILLed, and
after the broker is flushed (median of RUNS runs), and messages per job of a 5,000-job backlog observed
for BACKLOG_SECONDS (default 600: 10 minutes) with a slow worker.

Runs the real-service tests of tests/e2e/test_recovery_realservices.py (real workers, a private
redis-server, PostgreSQL) and reads the figures they print. Needs DATABASE_URL (PostgreSQL) and
CELERY_BROKER_URL (Redis) as for `make test`:

    .venv/bin/python -m bench.recovery            # RUNS=3 BACKLOG_SECONDS=600 by default
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys

TESTS = "tests/e2e/test_recovery_realservices.py"
FIGURE = re.compile(r"(RECOVERY_\w+)[= ](\S+)")


def run(test: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", f"{TESTS}::{test}"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RECOVERY_")]
    if result.returncode:
        print(f"  {test} failed:\n" + result.stdout[-2000:])
    return "\n".join(lines)


def seconds(output: str, name: str) -> float | None:
    for line in output.splitlines():
        if line.startswith(name + "="):
            return float(line.split("=", 1)[1].split()[0])
    return None


def main() -> int:
    runs = int(os.environ.get("RUNS", "3"))
    for name, test in (
        (
            "RECOVERY_SIGKILL_SECONDS",
            "test_whole_worker_sigkilled_with_jobs_in_flight_all_complete_within_the_recovery_time",
        ),
        ("RECOVERY_FLUSH_SECONDS", "test_broker_flushed_with_50_jobs_pending_all_complete_within_the_recovery_time"),
    ):
        figures = [value for _ in range(runs) if (value := seconds(run(test), name)) is not None]
        shown = ", ".join(f"{v:.1f}" for v in figures)
        median = f"{statistics.median(figures):.1f} s" if figures else "n/a"
        print(f"{name}: median {median} of {len(figures)} runs ({shown}); SYNC_RECOVERY_SECONDS=120 (default)")
    observe = os.environ.get("BACKLOG_SECONDS", "600")
    print(f"backlog of 5,000 jobs, slow worker, observed {observe} s:")
    print(
        "  "
        + run(
            "test_a_long_backlog_is_never_sent_twice_and_only_lost_messages_are_sent_again",
            RECOVERY_BACKLOG_OBSERVE_SECONDS=observe,
            RECOVERY_BACKLOG_RECOVERY_SECONDS="120",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
