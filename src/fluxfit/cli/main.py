"""Entry point of the ``fluxfit`` command.

Examples
--------
$ fluxfit demo --out my-demo
$ fluxfit report my-demo
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
        help="print only warnings and errors, no progress bars",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only warnings and errors, no progress bars",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="run the built-in demonstration analysis",
        description=(
            "Build the two-source model of the 3ML 'multiple sources' tutorial (blackbody, "
            "blackbody + power law, one shared temperature, priors), print its parameters, "
            "compute fluxes and write the models YAML; then simulate four ON/OFF runs of a "
            "Crab-like source with analytic responses, fit them jointly, estimate flux points "
            "and a light curve, sample the posterior (when the Bayesian layer is available), "
            "draw the figures and write the HTML report report.html."
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

    run = sub.add_parser(
        "run",
        parents=[common],
        help="run the analysis described by a configuration YAML",
        description=(
            "Read and validate CONFIG (data: OGIP files, datasets YAML, flux points or a DL3 "
            "store with a selection; reduction; models; fit; estimators; outputs), run the "
            "analysis and write the results folder and its HTML report. See "
            "docs/configuration.md."
        ),
    )
    run.add_argument("config", metavar="CONFIG", help="the analysis YAML")
    run.add_argument(
        "--out", metavar="DIR", default=None, help="results folder (overrides outputs.dir)"
    )

    report = sub.add_parser(
        "report",
        parents=[common],
        help="write the HTML report of a results folder",
        description=(
            "Write RESULTS_DIR/report.html: one self-contained page (images embedded) with the "
            "fit summary, parameter table, SED with butterfly and flux points, count spectra "
            "with residuals, light curve, flux profile and corner plot, from the folder written by "
            "'fluxfit demo' or 'fluxfit run' (layout: fit.json, models YAML, flux_points.fits, "
            "lightcurve.fits, profile.fits, bayes_results.fits, figures/*.png)."
        ),
    )
    report.add_argument("results_dir", metavar="RESULTS_DIR", help="the results folder")
    report.add_argument(
        "--overwrite", action="store_true", help="replace an existing RESULTS_DIR/report.html"
    )
    return parser


def _configure_output(quiet: bool) -> None:
    """Logging and progress bars of one command.

    ``--quiet``: messages of WARNING and above only, no progress bars. Otherwise INFO
    messages of fluxfit's loggers, and progress bars when standard error is a terminal
    (`fluxfit.utils.progress_enabled`; ``FLUXFIT_PROGRESS=0`` turns them off).
    """
    from fluxfit.utils import set_progress

    level = logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("fluxfit").setLevel(level)  # also when logging was configured before
    set_progress(False if quiet else None)


def main(argv=None) -> int:
    """Run the ``fluxfit`` command; returns the exit status (0 success, 1 error, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_output(args.quiet)
    if args.command is None:
        parser.print_help()
        return 2
    from fluxfit.errors import FluxfitError

    try:
        if args.command == "demo":
            from fluxfit.cli.demo import run_demo

            run_demo(args.out, overwrite=args.overwrite, quiet=args.quiet)
            return 0
        if args.command == "run":
            from fluxfit.cli.run import run_analysis

            run_analysis(args.config, out=args.out, say=(lambda *a: None) if args.quiet else print)
            return 0
        if args.command == "report":
            from fluxfit.cli.report import write_report

            path = write_report(args.results_dir, overwrite=args.overwrite)
            if not args.quiet:
                print(f"wrote {path}")
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
