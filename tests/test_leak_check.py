"""The suite's leak check finds what a test left running, and only that."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.leaks import LeakCheck

PLAIN_ENV = {"PATH": "/usr/bin:/bin"}


def sleeper(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args], env=env,
                            start_new_session=True)


def test_a_process_left_running_is_named_and_stopped(tmp_path):
    check = LeakCheck(tmp_path / "project", tmp_path / "temp")
    left = sleeper(env={**PLAIN_ENV, "OMA_TEST_RUN": check.run_id})
    try:
        problems = check.check()
        assert any(f"process {left.pid} " in line for line in problems), problems
        assert left.wait(5) is not None  # stopped, so leaks cannot pile up
    finally:
        if left.poll() is None:
            left.kill()


def test_only_processes_of_this_run_count(tmp_path):
    project = tmp_path / "project"
    older = sleeper(f"{project}/older", env=PLAIN_ENV)  # started before the run: not ours
    started = []
    try:
        time.sleep(1.5)
        check = LeakCheck(project, tmp_path / "temp")
        started += [sleeper(f"{project}/other", env={**PLAIN_ENV, "OMA_TEST_RUN": "another-run"}),
                    sleeper(f"{project}/ours", env=PLAIN_ENV), sleeper("unrelated", env=PLAIN_ENV)]
        other_run, ours, unrelated = started
        found = {p.pid for p in check.survivors()}
        assert ours.pid in found
        assert not found & {older.pid, other_run.pid, unrelated.pid}
    finally:
        for process in [older, *started]:
            process.kill()
            process.wait()
