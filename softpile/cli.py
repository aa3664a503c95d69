"""The `softpile` command line: one subcommand per module.

Each subcommand module defines `configure(parser)` (adds its arguments and a description) and
`run(args) -> int`. Modules are imported only when their subcommand runs, so `softpile demo`
works without the optional extras.

Every failure is one line on stderr, `softpile COMMAND: error: ...`, with exit status 2: usage
errors too (argparse's usage block is left to `--help`), and options are named as typed.
"""

import argparse
import ctypes
import importlib
import math
import os
import sys

# name -> (module, one-line help)
COMMANDS = {
    "demo": ("softpile._demo", "run the seed example's story on built-in simulated reads"),
    "pileup": ("softpile.io._cli_pileup", "exact per-position counts of a BAM/CRAM, as TSV"),
    "call": ("softpile.io._cli_call", "call SNVs and indels from BAMs into a VCF"),
    "simulate": ("softpile.io._cli_simulate", "write a simulated sample: FASTA, BAM, truth VCF"),
    "train": ("softpile.io._cli_train", "learn the caller's parameters from BAMs and a truth VCF"),
    "plot": ("softpile._cli_plot", "figure of a BAM/CRAM region: depth, pileup, variant scores"),
}


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class UsageError(Exception):
    """A bad command line, raised by `_Parser.error` instead of printing the usage block.

    `help_hint`: point to `--help` (argparse's own messages, e.g. a missing argument, say
    what is wrong but not what is expected).
    """

    def __init__(self, prog: str, message: str, *, help_hint: bool = True):
        super().__init__(message)
        self.prog = prog
        self.help_hint = help_hint


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage block before its one-line message; a user who typed a
    # wrong option wants the message, and `--help` has the rest. Subparsers inherit the class.
    def error(self, message: str):
        raise UsageError(self.prog, message)


class CheckedOption(argparse.Action):
    """Store an option's value through `check(text, option) -> value`.

    `option` is the spelling the user typed (`-q` or `--min-MQ`), so a `ValueError` from
    `check` can name it; it becomes a usage error. argparse's own `type=` errors would name
    every spelling at once (`argument -q/--min-MQ: ...`).
    """

    def __init__(self, option_strings, dest, *, check, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.check = check

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            value = self.check(values, option_string)
        except ValueError as error:
            raise UsageError(parser.prog, str(error), help_hint=False) from None
        setattr(namespace, self.dest, value)


def number_option(kind: type = int, *, minimum=None, above=None, maximum=None):
    """A `check` for `CheckedOption`: a finite `kind` (int or float) within the bounds."""

    def check(text: str, option: str):
        try:
            value = kind(text)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise ValueError(f"{option} must be {noun}, got {text!r}.") from None
        if not math.isfinite(value):
            raise ValueError(f"{option} must be a finite number, got {text!r}.")
        if minimum is not None and value < minimum:
            raise ValueError(f"{option} must be >= {minimum}, got {text}.")
        if above is not None and value <= above:
            raise ValueError(f"{option} must be > {above}, got {text}.")
        if maximum is not None and value > maximum:
            raise ValueError(f"{option} must be <= {maximum}, got {text}.")
        return value

    return check


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="softpile", description="Differentiable pileups and variant scores in JAX."
    )
    parser.add_argument("--version", action="version", version=_version())
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, summary) in COMMANDS.items():
        sub = subcommands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(_module=module_name)
        importlib.import_module(module_name).configure(sub)
    return parser


def _version() -> str:
    from softpile import __version__

    return f"softpile {__version__}"


def _print_line(line: str) -> None:
    if sys.stderr.isatty():
        # A progress bar may hold the line without a newline: the message replaces it.
        print("\r\x1b[K", end="", file=sys.stderr)
    print(line, file=sys.stderr)


ARENAS_VARIABLE = "MALLOC_ARENA_MAX"
MALLOC_ARENAS = 1
"""glibc malloc arenas per process (glibc's default: up to eight per core)."""
_M_ARENA_MAX = -8  # glibc's `mallopt` parameter number


def limit_malloc_arenas() -> None:
    """Let each process of a command (its worker processes too) keep one glibc malloc arena.

    By default glibc gives threads arenas of their own, which keep freed memory; with the
    threads of the compiled programs, `softpile call` on 10 Mb with two workers took about
    200 MiB more (tree PSS 1093-1120 MiB, against 904-915 MiB with one arena), in no less time
    (`python benchmarks/call_speed.py --length 10000000`, with and without
    `MALLOC_ARENA_MAX=64`). A value the user set is kept.
    Nothing happens where the C library is not glibc.
    """
    if os.environ.get(ARENAS_VARIABLE):
        return
    os.environ[ARENAS_VARIABLE] = str(MALLOC_ARENAS)  # worker processes read it as they start
    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, MALLOC_ARENAS)  # this process, before its threads
    except (OSError, AttributeError):
        pass


CACHE_VARIABLE = "SOFTPILE_CACHE_DIR"


def use_compilation_cache() -> None:
    """Keep the compiled programs on disk (JAX's persistent compilation cache), so that the next
    run of a command loads them instead of compiling them again (about 1.5 s for `call`).

    The folder is `$SOFTPILE_CACHE_DIR`, else `$XDG_CACHE_HOME/softpile/jax`, else
    `~/.cache/softpile/jax`; `SOFTPILE_CACHE_DIR=` (empty) turns it off, and a folder given to
    JAX itself (`JAX_COMPILATION_CACHE_DIR`) is left as it is. Worker processes inherit it
    through the environment.
    """
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return
    folder = os.environ.get(CACHE_VARIABLE)
    if folder is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "softpile", "jax")
    if not folder:
        return
    import jax

    os.environ["JAX_COMPILATION_CACHE_DIR"] = folder
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def main(argv: list[str] | None = None) -> int:
    limit_malloc_arenas()  # first: the subcommands' imports start threads
    try:
        args, unknown = _parser().parse_known_args(argv)
        if unknown:
            # Reported by the subcommand, whose options the user was typing.
            raise UsageError(
                f"softpile {args.command}", f"unrecognized arguments: {' '.join(unknown)}"
            )
    except UsageError as error:
        hint = f" (see `{error.prog} --help`)" if error.help_hint else ""
        _print_line(f"{error.prog}: error: {error}{hint}")
        return 2
    use_compilation_cache()
    try:
        return importlib.import_module(args._module).run(args)
    except (CommandError, ValueError, OSError) as error:
        _print_line(f"softpile {args.command}: error: {error}")
        return 2
    except KeyboardInterrupt:
        _print_line(f"softpile {args.command}: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
