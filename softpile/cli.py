"""The `softpile` command line: one subcommand per module.

Each subcommand module defines `configure(parser)` (adds its arguments and a description) and
`run(args) -> int`. Modules are imported only when their subcommand runs, so `softpile demo`
works without the optional extras.
"""

import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS = {
    "demo": ("softpile._demo", "run the seed example's story on built-in simulated reads"),
    "pileup": ("softpile.io._cli_pileup", "exact per-position counts of a BAM/CRAM, as TSV"),
}


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return importlib.import_module(args._module).run(args)
    except (CommandError, ValueError, OSError) as error:
        print(f"softpile {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"softpile {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
