"""One pileup, several processes: `softpile.sharded` with JAX's multi-process runtime.

Start one copy per process, all with the same coordinator address. On one machine, two
processes with two CPU devices each (set before Python starts, since JAX reads them once):

    export JAX_PLATFORMS=cpu XLA_FLAGS=--xla_force_host_platform_device_count=2
    ARGS="--coordinator localhost:12355 --num-processes 2"
    python docs/examples/distributed.py $ARGS --process-id 0 &
    python docs/examples/distributed.py $ARGS --process-id 1

On several hosts, run the same command on each (with the first host's address). Without
arguments the script runs as a single process.

Six simulated samples stand in for six windows of a region, and their pileups are split two
ways:

1. one mesh over every process's devices (`devices=jax.devices()`): each process passes the
   same stacked inputs, computes the windows that fall on its own devices, and
   `process_allgather` brings the whole result to every process;
2. each process takes its own share of the windows (every `process_count()`-th, from
   `process_index()`) and spreads it over its local devices; that is the way to go when each
   host reads its own windows and writes its own output.

Either way the numbers are bit-identical to one process on one device. With `--out DIR` each
process saves both results to `DIR/process-<index>.npz`.
"""

import argparse
from pathlib import Path

import jax
import numpy as np
from jax.experimental import multihost_utils

import softpile
from softpile.simulate import simulate

WINDOWS = 6
REFERENCE_LENGTH = 300
FIELDS = ("counts", "depth", "log_likelihoods")


def simulated_windows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reads, starts and qualities of `WINDOWS` simulated samples, stacked along axis 0."""
    samples = [
        simulate(seed, reference_length=REFERENCE_LENGTH, coverage=20, read_length=50)
        for seed in range(WINDOWS)
    ]
    reads = np.stack([np.asarray(softpile.one_hot_reads(s.reads)) for s in samples])
    starts = np.stack([s.starts for s in samples])
    quality = np.stack([s.quality for s in samples]).astype(np.float32)
    return reads, starts, quality


def one_window(reads, starts, quality) -> dict:
    piled = softpile.pileup(reads, starts, REFERENCE_LENGTH, quality=quality)
    return {field: getattr(piled, field) for field in FIELDS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coordinator", help="host:port of process 0, e.g. localhost:12355")
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--out", type=Path, help="save this process's results here")
    arguments = parser.parse_args()
    if arguments.num_processes > 1:
        if arguments.coordinator is None:
            parser.error("--coordinator is needed with --num-processes above 1")
        jax.distributed.initialize(
            arguments.coordinator,
            num_processes=arguments.num_processes,
            process_id=arguments.process_id,
        )
    index, count = jax.process_index(), jax.process_count()
    inputs = simulated_windows()

    # 1. One mesh over all processes' devices; the result is a global array.
    spread = softpile.sharded(one_window, devices=jax.devices())(*inputs)
    everywhere = multihost_utils.process_allgather(spread, tiled=True)

    # 2. This process's own windows, on its local devices.
    mine = np.arange(WINDOWS)[index::count]
    share = softpile.sharded(one_window)(*(x[mine] for x in inputs))

    print(
        f"process {index} of {count}: windows {mine.tolist()} on its "
        f"{jax.local_device_count()} devices, {jax.device_count()} devices in the mesh"
    )
    if index == 0:
        depth = everywhere["depth"]
        print(f"{WINDOWS} windows of {REFERENCE_LENGTH} positions, mean depth {depth.mean():.2f}")
    if arguments.out is not None:
        arguments.out.mkdir(parents=True, exist_ok=True)
        np.savez(
            arguments.out / f"process-{index}.npz",
            share_windows=mine,
            **{f"mesh_{field}": np.asarray(everywhere[field]) for field in FIELDS},
            **{f"share_{field}": np.asarray(share[field]) for field in FIELDS},
        )
    if count > 1:
        jax.distributed.shutdown()


if __name__ == "__main__":
    main()
