"""Speed of `softpile.pileup` against a naive scatter, NumPy and the memory-bandwidth bound.

Run from the repository root (all workloads; add `--skip-xl` on a small machine):

    python benchmarks/speed.py
    python benchmarks/speed.py --skip-xl --repeats 15
    python benchmarks/speed.py --order sorted       # reads in coordinate order

Every contender computes the same quantity from the same inputs, so under `jax.jit` nothing
is dead code that one of them skips:

- `softpile`: `pileup(...).distribution` (counts normalised per position), and
  `pileup(...).counts`; with quality weighting, `w = 1 - min(10^(-Q/10), 3/4)`.
- `softpile, uint8 quality`: the same with the qualities as `uint8`, as BAM files store them
  (a table lookup instead of `10**(-Q/10)`; integer qualities have no gradient).
- `softpile, K=2 placement`: soft placement, every read spread over two candidate starts
  (`offset_weights` 1/2 each); the lines after the table give its cost over K = 1.
- `softpile, no custom JVP`: the same blocked kernel differentiated by plain autodiff (shows
  what the custom JVP buys in the backward pass).
- `naive`: DiffBio's algorithm written here: one flat `jax.ops.segment_sum` over all N*L
  (read, column) elements of the weighted reads, normalise, then softmax at temperature 1. It
  uses the same weight function as softpile, so the ratio measures the kernel alone.
- `DiffBio`: `DifferentiablePileup.compute_pileup(...)["pileup"]` of DiffBio itself with its
  default configuration (quality weights `1 - 10^(-Q/10)`, softmax at temperature 1), when
  DiffBio is installed (`pip install diffbio`; it is not a dependency of softpile). Its
  weights are not capped at Q < 1.25, so its values are not compared with softpile's.
- `numpy`: `np.add.at` of the weighted reads (forward only).
- `genotype LL`: the `(R, 10)` genotype log-likelihoods of `Pileup` (no baseline computes
  them; shown against softpile's general per-column path, which soft reads take).
- `bandwidth bound`: bytes of the inputs read once (reads, quality, starts) divided by the
  measured `memcpy` bandwidth of this machine (bytes copied per second by `np.copyto`); for
  forward+backward, the inputs read once plus the gradients (same shapes as reads and
  quality) written once. As a second reference, `read inputs` times XLA summing each input,
  and `sort starts` XLA sorting the starts (what a `pileup` that sorted its reads would pay).
- `call only`: XLA reading one element of each input, the cost of a compiled call itself
  (dispatch and synchronisation), which no contender can go under: on S it is several times
  the bandwidth bound.
- `write grads`: XLA reading the reads and qualities once and writing fresh arrays of their
  shapes, as every gradient with respect to them must: with the default allocator, a
  measured floor for forward+backward, which includes the cost of the fresh output memory
  (page faults, on CPU).
  The lines after the table give softpile's and DiffBio's forward+backward over it; DiffBio's
  over the floor is the most any contender could be faster than DiffBio here.

Forward+backward is `jax.grad` of a scalar loss, `sum(distribution * target)`, with respect
to the reads and the qualities. Times are medians over `--repeats` runs of the compiled
function (`block_until_ready`); compile time (lower + compile) is reported separately, and the
spread column is (max - min) / median of the forward runs, a measure of the noise of a
shared machine.
"""

import argparse
import dataclasses
import functools
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from speed_contenders import (
    WORKLOADS,
    Workload,
    diffbio_distribution,
    make_inputs,
    naive_counts,
    naive_distribution,
    numpy_counts,
    numpy_distribution,
    read_inputs_contender,
    softpile_counts,
    softpile_distribution,
    softpile_general_log_likelihoods,
    softpile_log_likelihoods,
    softpile_plain_autodiff_distribution,
    softpile_soft_placement_distribution,
    sort_starts_contender,
    touch_inputs_contender,
    write_gradients_contender,
)

from softpile import _kernel

# ----------------------------------------------------------------------------- timing


def compile_jax(fn, args):
    begin = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - begin


def batched(fn, workload: Workload):
    single = functools.partial(fn, reference_length=workload.reference_length)
    return jax.vmap(single) if workload.samples else single


def forward_and_backward(fn, workload: Workload):
    single = batched(fn, workload)

    def loss(reads, quality, starts, target):
        return jnp.sum(single(reads, quality, starts) * target)

    return jax.grad(loss, argnums=(0, 1))


def memcpy_bandwidth(num_bytes: int = 256 * 2**20, repeats: int = 9) -> float:
    """Bytes copied per second by `np.copyto` between two preallocated buffers."""
    source = np.ones(num_bytes // 4, np.float32)
    destination = np.empty_like(source)
    np.copyto(destination, source)
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        np.copyto(destination, source)
        times.append(time.perf_counter() - begin)
    # Bytes copied per second, as memcpy bandwidth is usually quoted (each byte is read and
    # written once; STREAM's convention would count 2x and halve the bound).
    return num_bytes / statistics.median(times)


@dataclasses.dataclass
class Result:
    workload: str
    contender: str
    quantity: str
    forward: float | None = None
    backward: float | None = None
    compile_forward: float | None = None
    compile_backward: float | None = None
    spread: float | None = None
    fastest: float | None = None


def prepare_jax(name, fn, workload, inputs, quantity, backward=True, quality_dtype=None):
    """Compile a contender; return its Result (compile times filled) and timed callables.
    `quality_dtype` gives the contender its qualities in that dtype (e.g. uint8, as in BAM
    files), converted before timing."""
    reads, quality, starts, target = (jnp.asarray(x) for x in inputs)
    if quality_dtype is not None:
        quality = quality.astype(quality_dtype)
    result = Result(workload.name, name, quantity)
    compiled, result.compile_forward = compile_jax(batched(fn, workload), (reads, quality, starts))
    calls = {"forward": (compiled, (reads, quality, starts))}
    if backward:
        compiled, result.compile_backward = compile_jax(
            forward_and_backward(fn, workload), (reads, quality, starts, target)
        )
        calls["backward"] = (compiled, (reads, quality, starts, target))
    for compiled, args in calls.values():
        jax.block_until_ready(compiled(*args))  # warm up
    return result, calls


def run_interleaved(prepared, repeats: int) -> None:
    """Time every callable once per round, round after round, so that load from other
    processes on a shared machine hits all contenders alike; keep medians."""
    times = {(index, kind): [] for index, (_, calls) in enumerate(prepared) for kind in calls}
    for _ in range(repeats):
        for index, (_, calls) in enumerate(prepared):
            for kind, (compiled, args) in calls.items():
                begin = time.perf_counter()
                jax.block_until_ready(compiled(*args))
                times[index, kind].append(time.perf_counter() - begin)
    for index, (result, calls) in enumerate(prepared):
        forward = times[index, "forward"]
        result.forward = statistics.median(forward)
        result.fastest = min(forward)
        result.spread = (max(forward) - min(forward)) / result.forward
        if "backward" in calls:
            result.backward = statistics.median(times[index, "backward"])


def run_numpy(fn, workload, inputs, repeats, quantity) -> Result:
    reads, quality, starts, _ = inputs
    if workload.samples:

        def call():
            return [
                fn(reads[s], quality[s], starts[s], workload.reference_length)
                for s in range(workload.samples)
            ]
    else:

        def call():
            return fn(reads, quality, starts, workload.reference_length)

    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        call()
        times.append(time.perf_counter() - begin)
    result = Result(workload.name, "numpy np.add.at", quantity, statistics.median(times))
    result.fastest = min(times)
    result.spread = (max(times) - min(times)) / statistics.median(times)
    return result


def check_agreement(workload, inputs):
    """The contenders compute the same counts (guards the benchmark against a wrong kernel)."""
    reads, quality, starts, _ = inputs
    if workload.samples:
        reads, quality, starts = reads[0], quality[0], starts[0]
    ours = np.asarray(softpile_counts(reads, quality, starts, workload.reference_length))
    theirs = numpy_counts(reads, quality, starts, workload.reference_length)
    scale = max(1.0, float(np.abs(theirs).max()))
    error = float(np.abs(ours - theirs).max()) / scale
    if error > 1e-4:
        raise AssertionError(f"softpile and numpy counts differ on {workload.name}: {error:.2e}")


def format_ms(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:10.3f}"


def format_ratio(numerator, denominator):
    if numerator is None or denominator is None:
        return "-"
    return f"{numerator / denominator:6.2f}x"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="S,M,batch,XL", help="comma-separated names")
    parser.add_argument("--skip-xl", action="store_true", help="skip the XL workload")
    parser.add_argument("--repeats", type=int, default=11, help="timed runs per contender")
    parser.add_argument(
        "--order",
        choices=("random", "sorted"),
        default="random",
        help="reads in random order (default) or sorted by start, as a sorted BAM gives them",
    )
    parser.add_argument(
        "--numpy-repeats", type=int, default=3, help="timed runs of the (slow) NumPy contender"
    )
    parser.add_argument(
        "--block-reads",
        type=int,
        default=_kernel.BLOCK_READS,
        help="reads per step of softpile's scatter loop (to compare block sizes)",
    )
    args = parser.parse_args(argv)
    _kernel.BLOCK_READS = args.block_reads
    names = [name.strip() for name in args.workloads.split(",") if name.strip()]
    if args.skip_xl:
        names = [name for name in names if name != "XL"]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"--workloads: unknown {unknown}; choose from {sorted(WORKLOADS)}")

    bandwidth = memcpy_bandwidth()
    diffbio = diffbio_distribution()
    print(f"jax {jax.__version__}, {jax.devices()[0].device_kind}, {jax.device_count()} device(s)")
    print("DiffBio: " + ("installed, timed" if diffbio else "not installed, not timed"))
    print(f"memcpy bandwidth (bytes copied per second): {bandwidth / 1e9:.2f} GB/s")
    print(f"softpile block size: {_kernel.BLOCK_READS} reads")
    print(f"reads in {args.order} order")
    # The allocator's settings change the timings a lot on CPU (docs/performance.md, "Fresh
    # memory on CPU"), so a run says which it had.
    print(f"GLIBC_TUNABLES: {os.environ.get('GLIBC_TUNABLES') or '(not set)'}")

    rows: list[Result] = []
    bounds = {}
    for name in names:
        workload = WORKLOADS[name]
        inputs = make_inputs(workload, in_order=args.order == "sorted")
        check_agreement(workload, inputs)
        reads, quality, starts, _ = inputs
        input_bytes = reads.nbytes + quality.nbytes + starts.nbytes
        gradient_bytes = reads.nbytes + quality.nbytes
        bounds[name] = (input_bytes / bandwidth, (input_bytes + gradient_bytes) / bandwidth)
        print(f"running {name}: {input_bytes / 2**20:.1f} MiB of inputs ...", flush=True)
        contenders = [
            ("softpile", softpile_distribution, "distribution", True),
            ("softpile, uint8 quality", softpile_distribution, "distribution", False, "uint8"),
            ("softpile, K=2 placement", softpile_soft_placement_distribution, "distribution", True),
            ("softpile, no custom JVP", softpile_plain_autodiff_distribution, "distribution", True),
            ("naive segment_sum+softmax", naive_distribution, "distribution", True),
            *([("DiffBio", diffbio, "distribution", True)] if diffbio else []),
            ("softpile", softpile_counts, "counts", False),
            ("softpile, uint8 quality", softpile_counts, "counts", False, "uint8"),
            ("naive segment_sum", naive_counts, "counts", False),
            ("softpile (one-hot fast path)", softpile_log_likelihoods, "genotype LL", False),
            ("softpile, uint8 quality", softpile_log_likelihoods, "genotype LL", False, "uint8"),
            ("softpile general path", softpile_general_log_likelihoods, "genotype LL", False),
            ("XLA: sum of each input", read_inputs_contender, "read inputs", False),
            ("XLA: argsort of the starts", sort_starts_contender, "sort starts", False),
            ("XLA: 2 x reads, 2 x quality", write_gradients_contender, "write grads", False),
            ("XLA: one element of each", touch_inputs_contender, "call only", False),
        ]
        prepared = [
            prepare_jax(label, fn, workload, inputs, *rest) for label, fn, *rest in contenders
        ]
        run_interleaved(prepared, args.repeats)
        rows.extend(result for result, _ in prepared)
        rows.append(
            run_numpy(numpy_distribution, workload, inputs, args.numpy_repeats, "distribution")
        )

    print()
    header = (
        f"{'workload':8} {'quantity':12} {'contender':28} {'fwd ms':>10} {'fwd min':>10} "
        f"{'fwd+bwd ms':>10} "
        f"{'compile f/b s':>14} {'spread':>6} {'naive/fwd':>9} {'naive/f+b':>9} {'fwd/bound':>9}"
        + (f" {'DiffBio/fwd':>11} {'DiffBio/f+b':>11}" if diffbio else "")
    )
    print(header)
    print("-" * len(header))
    for name in names:
        naive = {
            row.quantity: row
            for row in rows
            if row.workload == name and row.contender.startswith("naive")
        }
        theirs = next(
            (row for row in rows if row.workload == name and row.contender == "DiffBio"), None
        )
        for row in (row for row in rows if row.workload == name):
            baseline = naive.get(row.quantity)
            against_diffbio = ""
            if diffbio:
                them = theirs if row.quantity == "distribution" else None
                against_diffbio = (
                    f" {format_ratio(them.forward if them else None, row.forward):>11}"
                    f" {format_ratio(them.backward if them else None, row.backward):>11}"
                )
            compile_text = "-"
            if row.compile_forward is not None:
                backward_text = (
                    f"{row.compile_backward:.2f}" if row.compile_backward is not None else "-"
                )
                compile_text = f"{row.compile_forward:.2f}/{backward_text}"
            print(
                f"{name:8} {row.quantity:12} {row.contender:28} {format_ms(row.forward)} "
                f"{format_ms(row.fastest)} {format_ms(row.backward):>10} {compile_text:>14} "
                f"{row.spread:6.0%} "
                f"{format_ratio(baseline.forward if baseline else None, row.forward):>9} "
                f"{format_ratio(baseline.backward if baseline else None, row.backward):>9} "
                f"{format_ratio(row.forward, bounds[name][0]):>9}" + against_diffbio
            )
        forward_bound, backward_bound = bounds[name]
        print(
            f"{name:8} {'':12} {'bandwidth bound':28} {format_ms(forward_bound)} "
            f"{'':10} {format_ms(backward_bound):>10}"
        )
    print()
    distribution = {
        name: {
            row.contender: row
            for row in rows
            if row.workload == name and row.quantity == "distribution"
        }
        for name in names
    }
    for name in names:
        hard, soft = distribution[name]["softpile"], distribution[name]["softpile, K=2 placement"]
        print(
            f"{name}: soft placement K=2 / K=1: forward {format_ratio(soft.forward, hard.forward)}"
            f", forward+backward {format_ratio(soft.backward, hard.backward)}"
        )
    print()
    for name in names:
        floor = next(row for row in rows if row.workload == name and row.quantity == "write grads")
        ours, theirs = distribution[name]["softpile"], distribution[name].get("DiffBio")
        line = (
            f"{name}: forward+backward floor (write grads) {format_ms(floor.forward).strip()} ms;"
            f" softpile f+b / floor {format_ratio(ours.backward, floor.forward).strip()}"
        )
        if theirs is not None:
            line += f", DiffBio f+b / floor {format_ratio(theirs.backward, floor.forward).strip()}"
        print(line)
    print()
    print("naive/fwd, naive/f+b: how many times faster than the naive baseline (same quantity);")
    print("fwd/bound: forward time over the bandwidth bound (1.00x = reads the inputs once).")
    if diffbio:
        print("DiffBio/fwd, DiffBio/f+b: how many times faster than DiffBio's distribution.")
    print("fwd ms, fwd+bwd ms: medians; fwd min: fastest forward run; spread: (max-min)/median.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
