"""`softpile.sharded` across two processes (`jax.distributed`) equals one process, bit for bit.

Runs docs/examples/distributed.py as two local processes: CPU only, two forced devices each
(set in the environment, so before JAX starts), a coordinator on a free localhost port. Each
process saves the pileup of six simulated windows computed two ways (one mesh over all four
devices, and its own share of the windows on its two devices); the test compares both with
the same windows piled up here, in this process, on one CPU device.
"""

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

import softpile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "distributed.py"
PAGE = ROOT / "docs" / "performance.md"
PROCESSES = 2
DEVICES_PER_PROCESS = 2
TIMEOUT_S = 240  # for all processes together; they take about 10 s on two CPU cores


def load_example():
    spec = importlib.util.spec_from_file_location("distributed_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["JAX_PLATFORMS"] = "cpu"
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={DEVICES_PER_PROCESS}"
    # The strict promotion rules of the test suite apply in the processes too.
    env["JAX_NUMPY_RANK_PROMOTION"] = "raise"
    env["JAX_NUMPY_DTYPE_PROMOTION"] = "strict"
    return env


def run_processes(out: Path) -> list[str]:
    """Start the example once per process, wait for all, and return their logs."""
    command = [
        sys.executable,
        str(EXAMPLE),
        "--coordinator",
        f"localhost:{free_port()}",
        "--num-processes",
        str(PROCESSES),
        "--out",
        str(out),
    ]
    logs = [out / f"log-{index}.txt" for index in range(PROCESSES)]
    out.mkdir()
    processes = []
    try:
        for index, log in enumerate(logs):
            with log.open("w") as sink:
                processes.append(
                    subprocess.Popen(
                        [*command, "--process-id", str(index)],
                        env=environment(),
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + TIMEOUT_S
        codes = [process.wait(timeout=deadline - time.monotonic()) for process in processes]
    except subprocess.TimeoutExpired:
        codes = None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    texts = [log.read_text() for log in logs]
    report = "\n".join(f"--- process {i} ---\n{text}" for i, text in enumerate(texts))
    if codes is None:
        pytest.fail(f"the processes did not finish within {TIMEOUT_S} s\n{report}")
    assert codes == [0] * PROCESSES, report
    return texts


def assert_bitwise_equal(actual: np.ndarray, expected: np.ndarray, name: str) -> None:
    assert actual.dtype == expected.dtype, (name, actual.dtype, expected.dtype)
    np.testing.assert_array_equal(actual, expected, err_msg=name)
    assert actual.tobytes() == expected.tobytes(), f"{name}: equal values, different bits"


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, list[str]]:
    """The two processes' results folder and logs (run once for this file's tests)."""
    out = tmp_path_factory.mktemp("distributed") / "results"
    return out, run_processes(out)


def test_two_processes_equal_one_process_bit_for_bit(finished):
    example = load_example()
    inputs = example.simulated_windows()
    one_device = jax.devices("cpu")[:1]
    expected = softpile.sharded(example.one_window, devices=one_device)(*inputs)
    expected = {field: np.asarray(value) for field, value in expected.items()}
    # The reference is a real pileup: depth counts every read column (one-hot, no padding here
    # beyond the reads' ends), and the likelihoods are finite and differ between positions.
    read_columns = (inputs[0].sum(axis=-1) > 0).sum(axis=(1, 2))
    np.testing.assert_array_equal(expected["depth"].sum(axis=1), read_columns)
    assert np.isfinite(expected["log_likelihoods"]).all()
    assert np.unique(expected["log_likelihoods"], axis=1).shape[1] > 1

    out, logs = finished
    windows = len(inputs[0])
    for index, log in enumerate(logs):
        assert f"process {index} of {PROCESSES}" in log, log
        assert f"{PROCESSES * DEVICES_PER_PROCESS} devices in the mesh" in log, log
        saved = np.load(out / f"process-{index}.npz")
        share = np.arange(windows)[index::PROCESSES]
        np.testing.assert_array_equal(saved["share_windows"], share)
        for field, value in expected.items():
            assert_bitwise_equal(saved[f"mesh_{field}"], value, f"process {index} mesh {field}")
            assert_bitwise_equal(
                saved[f"share_{field}"], value[share], f"process {index} share {field}"
            )


def test_page_shows_what_the_processes_print(finished):
    page = PAGE.read_text()
    shown = re.search(r"^```text\n(process .*?)^```", page, re.MULTILINE | re.DOTALL)
    assert shown is not None, "docs/performance.md lost the output of distributed.py"
    printed = {line for log in finished[1] for line in log.splitlines()}
    for line in shown.group(1).splitlines():
        assert line in printed, f"docs/performance.md shows {line!r}; the processes print {printed}"
