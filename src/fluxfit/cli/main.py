"""Entry point of the ``fluxfit`` command.

Examples
--------
$ fluxfit demo --out my-demo
$ fluxfit --version
"""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to generate the CLI reference)."""
    from fluxfit import __version__

    parser = argparse.ArgumentParser(
        prog="fluxfit",
        description="Likelihood analysis of X-ray and gamma-ray sources.",
    )
    parser.add_argument("--version", action="version", version=f"fluxfit {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,  # keeps a --quiet given before the command
        help="print only warnings and errors",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="run the built-in demonstration analysis",
        description=(
            "Build the two-source model of the 3ML 'multiple sources' tutorial (blackbody, "
            "blackbody + power law, one shared temperature, priors), print its parameters, "
            "compute fluxes and write the models YAML."
        ),
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="output folder (default: a new folder fluxfit-demo-<time> in the working directory)",
    )
    demo.add_argument("--overwrite", action="store_true", help="replace files in an existing DIR")

    info = sub.add_parser(
        "info",
        parents=[common],
        help="describe a file fluxfit reads",
        description=(
            "Describe an OGIP spectrum, background, ARF or RMF/RSP, a DL3 index table or event "
            "list, a map dataset, flux points, a models or datasets YAML, or saved results."
        ),
    )
    info.add_argument("file", metavar="FILE", help="the file to describe")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 2
    from fluxfit.errors import FluxfitError

    try:
        if args.command == "demo":
            from fluxfit.cli.demo import run_demo

            run_demo(args.out, overwrite=args.overwrite, quiet=args.quiet)
            return 0
        if args.command == "info":
            from fluxfit.cli.info import describe

            print(describe(args.file))
            return 0
    except FluxfitError as exc:
        print(f"fluxfit {args.command}: error: {exc}", file=sys.stderr)
        return 1
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse catches it
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
