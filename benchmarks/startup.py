"""What a `softpile` command pays before its first read: the import of each package it loads.

Each row imports one module in a fresh Python process (after `numpy`, which everything needs)
and reports the best wall time of `--repeats` processes, so that the file cache is warm and the
numbers compare with each other; a row includes the packages that module imports itself. The
versions of the packages that decide the cost are printed above the table.

    python benchmarks/startup.py

To compare another version of a package, install it into a folder of its own and put that
folder first on the path, e.g. `pip install --target DIR ml_dtypes==0.7.0` and
`PYTHONPATH=DIR python benchmarks/startup.py`.
"""

import argparse
import importlib.metadata
import subprocess
import sys

MODULES = (
    "ml_dtypes",
    "jax",
    "equinox",
    "softpile",
    "oxbow",
    "softpile.io._table",
)
"""What a command loads, from JAX's own dtype package to the count table of `softpile pileup`."""

_TIMER = """
import time, numpy
started = time.perf_counter()
import {module}
print(time.perf_counter() - started)
"""


def import_seconds(module: str, repeats: int) -> float:
    """Best wall seconds to import `module` into a fresh process that has imported numpy."""
    times = []
    for _ in range(repeats):
        script = _TIMER.format(module=module)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"importing {module} failed:\n{out.stderr}")
        times.append(float(out.stdout))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="processes per module")
    args = parser.parse_args()
    for package in ("numpy", "ml_dtypes", "jax", "jaxlib", "equinox", "oxbow", "pyarrow"):
        print(f"{package:12}{importlib.metadata.version(package)}")
    print(f"\n{'import (after numpy)':24}{'best s':>8}")
    for module in MODULES:
        print(f"{module:24}{import_seconds(module, args.repeats):8.3f}")


if __name__ == "__main__":
    main()
