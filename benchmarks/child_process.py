"""Wall time and peak memory of commands run as whole processes, for the benchmarks.

Each measurement starts a small process of its own that runs the command (or a pipeline of
commands) and reports: Linux charges a child, in `ru_maxrss`, with the peak RSS of the process
that forked it (kept across `exec`), so measured straight from a benchmark that holds parsed
outputs or simulated data, every command would look at least as large as the benchmark.

Two peaks are reported. Each command's own peak RSS (`ru_maxrss`, exact) counts one process
only, not the worker processes it starts; the tree peak is the largest sum of the RSS of every
process of the pipeline and all their descendants (workers, a fork server), read from `/proc`
every `TREE_INTERVAL` seconds, so a peak shorter than that may be missed (Linux only; 0
elsewhere). In the tree RSS, pages shared between processes (the libraries, and what worker
processes forked from one server share with it) count once per process, as in `ps`; the tree
PSS (proportional set size, from `/proc/PID/smaps_rollup`) splits each shared page between
the processes that share it, so it is the memory the whole run takes from the machine.
Reading the tree slows the processes it reads, so the tree peaks come from a run of their own
and the timed runs go without it. Run as a script, this module measures that slowdown:

    python benchmarks/child_process.py --length 1000000 --repeats 3

times `softpile call` on the simulated sample of that length (`simulate_bam.py`), alternating
runs with and without the tree readings.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

TREE_INTERVAL = 0.05
"""Seconds between two readings of the process tree's RSS."""

# Runs one command, or several joined by pipes, and prints the exit status, wall seconds (until
# all have exited) and peak RSS of each, and the peak RSS and PSS of the whole process tree.
_RUNNER = """
import json, os, subprocess, sys, tempfile, threading, time
commands, interval = json.loads(sys.argv[1]), float(sys.argv[2])

def pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass  # exited meanwhile, or not readable
    return 0

def tree_memory(roots):
    children, rss = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        children.setdefault(int(fields[1]), []).append(int(name))
        rss[int(name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, proportional, todo = 0, 0, list(roots)
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        proportional += pss(pid) if pid in rss else 0
        todo += children.get(pid, [])
    return total, proportional

peak, stop = [0, 0], threading.Event()
def sample(roots):
    while not stop.is_set():
        peak[:] = map(max, peak, tree_memory(roots))
        stop.wait(interval)

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
sampler = None
if interval > 0 and os.path.isdir("/proc/self"):
    sampler = threading.Thread(target=sample, args=([p.pid for p in processes],), daemon=True)
    sampler.start()
results = {}
while len(results) < len(processes):
    pid, status, usage = os.wait4(-1, 0)
    results[pid] = (os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024)
wall = time.perf_counter() - started
stop.set()
if sampler is not None:
    sampler.join()
report = []
for process, error in zip(processes, errors):
    error.seek(0)
    report.append([*results[process.pid], error.read().decode(errors="replace")])
print(json.dumps([wall, report, [peak[0] / 2**20, peak[1] / 2**20]]))
"""


def measure(
    *commands: list[str], tree: bool = True
) -> tuple[float, list[float], tuple[float, float]]:
    """Wall seconds of the pipeline, the peak RSS (MiB) of each of its processes, and the peak
    RSS and PSS (MiB) of its whole process tree (0 without `tree`)."""
    interval = TREE_INTERVAL if tree else 0
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps(commands), str(interval)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall, report, tree = json.loads(result.stdout)
    for command, (status, _, error) in zip(commands, report):
        if status != 0:
            raise SystemExit(f"command failed ({status}): {' '.join(command)}\n{error}")
    return wall, [rss for _, rss, _ in report], tuple(tree)


def repeated(
    commands: list[list[str]], repeats: int
) -> tuple[float, list[float], tuple[float, float]]:
    """Best wall seconds and largest peak RSS of each process over `repeats` runs, and the
    tree peaks (RSS, PSS) of one more run. Reading the tree's memory takes CPU and the
    processes' memory locks (see `main`), so the timed runs go without it."""
    runs = [measure(*commands, tree=False) for _ in range(repeats)]
    _, _, tree = measure(*commands)
    return (
        min(wall for wall, _, _ in runs),
        [max(rss) for rss in zip(*(rss for _, rss, _ in runs))],
        tree,
    )


def single(command: list[str], repeats: int) -> tuple[float, float, tuple[float, float]]:
    """Best wall seconds, largest peak RSS and largest tree peaks (RSS, PSS; MiB) of one
    command over `repeats` runs."""
    wall, (rss,), tree = repeated([command], repeats)
    return wall, rss, tree


def main() -> None:
    from simulate_bam import simulate_bam

    parser = argparse.ArgumentParser(description="The cost of reading the tree's memory.")
    parser.add_argument("--length", type=int, default=1_000_000, help="reference length in bp")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind")
    args = parser.parse_args()
    sample = simulate_bam(args.length)
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, "-m", "softpile", "call", str(sample.bam), "-f"]
        command += [str(sample.fasta), "-o", f"{directory}/calls.vcf.gz", "--quiet"]
        walls: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeats):
            for tree in (True, False):
                walls[tree].append(measure(command, tree=tree)[0])
    print(f"softpile call, {args.length:,} bp, wall s of each run (alternating)")
    for tree, label in ((True, "tree read every 50 ms"), (False, "tree not read")):
        runs = " ".join(f"{wall:6.2f}" for wall in walls[tree])
        print(f"{label:24}{runs}   median {statistics.median(walls[tree]):6.2f}")


if __name__ == "__main__":
    main()
