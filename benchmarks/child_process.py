"""Wall time and peak memory of commands run as whole processes, for the benchmarks.

Each measurement starts a small process of its own that runs the command (or a pipeline of
commands) and reports: Linux charges a child, in `ru_maxrss`, with the peak RSS of the process
that forked it (kept across `exec`), so measured straight from a benchmark that holds parsed
outputs or simulated data, every command would look at least as large as the benchmark.
"""

import json
import subprocess
import sys

# Runs one command, or several joined by pipes, and prints the exit status, wall seconds (until
# all have exited) and peak RSS of each.
_RUNNER = """
import json, os, subprocess, sys, tempfile, time
commands = json.loads(sys.argv[1])
errors = [tempfile.TemporaryFile() for _ in commands]
started = time.perf_counter()
processes, stdin = [], subprocess.DEVNULL
for i, command in enumerate(commands):
    last = i == len(commands) - 1
    process = subprocess.Popen(
        command,
        stdin=stdin,
        stdout=subprocess.DEVNULL if last else subprocess.PIPE,
        stderr=errors[i],
    )
    if processes:
        stdin.close()  # the reader holds the only read end now
    stdin = process.stdout
    processes.append(process)
results = {}
while len(results) < len(processes):
    pid, status, usage = os.wait4(-1, 0)
    results[pid] = (os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024)
wall = time.perf_counter() - started
report = []
for process, error in zip(processes, errors):
    error.seek(0)
    report.append([*results[process.pid], error.read().decode(errors="replace")])
print(json.dumps([wall, report]))
"""


def measure(*commands: list[str]) -> tuple[float, list[float]]:
    """Wall seconds of the pipeline, and the peak RSS (MiB) of each of its processes."""
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps(commands)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall, report = json.loads(result.stdout)
    for command, (status, _, error) in zip(commands, report):
        if status != 0:
            raise SystemExit(f"command failed ({status}): {' '.join(command)}\n{error}")
    return wall, [rss for _, rss, _ in report]


def repeated(commands: list[list[str]], repeats: int) -> tuple[float, list[float]]:
    """Best wall seconds and largest peak RSS of each process over `repeats` runs."""
    runs = [measure(*commands) for _ in range(repeats)]
    return min(wall for wall, _ in runs), [max(rss) for rss in zip(*(rss for _, rss in runs))]


def single(command: list[str], repeats: int) -> tuple[float, float]:
    """Best wall seconds and largest peak RSS (MiB) of one command over `repeats` runs."""
    wall, (rss,) = repeated([command], repeats)
    return wall, rss
