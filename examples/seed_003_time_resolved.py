"""Seed 003: time-resolved spectroscopy of the PKS 2155-304 flare (H.E.S.S. DL3 DR1).

Gammapy's "time resolved spectroscopy estimator" tutorial, in fluxfit:

1. select the H.E.S.S. observations within 2 deg of PKS 2155-304 (21 runs);
2. cut them into 24 intervals of 15 minutes from 2006-07-29T20:30 UTC (34 pieces);
3. reduce every piece to an ON/OFF spectrum: ON circle of 0.11 deg, reflected OFF regions,
   containment-corrected exposure, aeff-max (10 %) safe energy threshold;
4. fit a power law (index and amplitude free) in each interval;
5. print the table (index, amplitude, integral flux 1-10 TeV with errors) and draw the
   parameters against time and the hysteresis plot (index against amplitude, coloured by
   time) into the output folder; write the table as ECSV.

Data: ``$FLUXFIT_DATA/gammapy-data/hess-dl3-dr1`` or ``../shared/data/...`` beside the
repository. With ``--compare`` the fits are compared with Gammapy 2.1's
(``../shared/reference/gammapy/wf3_time_resolved.json``).

Usage::

    python examples/seed_003_time_resolved.py seed003_output [--compare] [--quiet]
    python examples/seed_003_time_resolved.py --out seed003_output [--compare] [--quiet]

Besides the table, ``KEY name = value`` lines give the numbers tests/estimators/test_examples.py
checks.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import time
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy.time import Time
from regions import CircleSkyRegion

from fluxfit.data import DataStore
from fluxfit.estimators.time_resolved import TimeResolvedSpectroscopyEstimator
from fluxfit.makers import (
    ReflectedRegionsBackgroundMaker,
    SafeMaskMaker,
    SpectrumDatasetMaker,
    SpectrumReduction,
)
from fluxfit.maps import MapAxis, RegionGeom
from fluxfit.models import PowerLawSpectralModel, SkyModel

REPO = Path(__file__).resolve().parents[1]
TARGET = SkyCoord(329.71693826 * u.deg, -30.2255890 * u.deg, frame="icrs")


def data_dir() -> Path:
    env = os.environ.get("FLUXFIT_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def time_intervals(t0="2006-07-29T20:30", duration=15 * u.min, n_intervals=24) -> list[Time]:
    times = Time(t0) + np.arange(n_intervals + 1) * duration
    return [Time([a, b]) for a, b in itertools.pairwise(times)]


def reduce(store: DataStore, intervals, say=print):
    """Select the runs, cut them at the interval edges and reduce the pieces."""
    selection = dict(
        type="sky_circle", frame="icrs", lon=TARGET.ra, lat=TARGET.dec, radius=2 * u.deg
    )
    obs_ids = store.obs_table.select_observations(selection)["OBS_ID"]
    observations = store.get_observations(obs_ids)
    say(f"Number of selected observations : {len(observations)}")
    pieces = observations.select_time(intervals)
    say(f"Number of observations after time filtering: {len(pieces)}")

    energy_axis = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)
    energy_axis_true = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=20, name="energy_true")
    on_region = CircleSkyRegion(center=TARGET, radius=Angle("0.11 deg"))
    geom = RegionGeom.create(region=on_region, axes=[energy_axis])
    reduction = SpectrumReduction(
        geom,
        energy_axis_true,
        dataset_maker=SpectrumDatasetMaker(
            containment_correction=True, selection=["counts", "exposure", "edisp"]
        ),
        background_maker=ReflectedRegionsBackgroundMaker(),
        safe_mask_maker=SafeMaskMaker(methods=["aeff-max"], aeff_percent=10),
    )
    return reduction.run(pieces)


def compare_with_gammapy(table, say=print) -> None:
    path = data_dir().parent / "reference" / "gammapy" / "wf3_time_resolved.json"
    if not path.is_file():
        say(f"(no Gammapy reference at {path})")
        return
    rows = json.loads(path.read_text())["trs_table"]
    index = np.asarray(table["index"], float)
    amplitude = np.asarray(table["amplitude"], float)
    ref_index = np.array([r["index"] for r in rows])
    ref_amplitude = np.array([r["amplitude"] for r in rows])
    index_diff = np.max(np.abs(index - ref_index))
    amplitude_diff = np.max(np.abs(amplitude / ref_amplitude - 1))
    say(
        f"Against Gammapy 2.1: max |index difference| = {index_diff:.2e}, max relative "
        f"amplitude difference = {amplitude_diff:.2e} ({len(rows)} intervals)"
    )
    print(f"KEY index_max_abs_diff_vs_gammapy = {index_diff:.3e}")
    print(f"KEY amplitude_max_rel_diff_vs_gammapy = {amplitude_diff:.3e}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "output", type=Path, nargs="?", default=None, help="folder for the figures and the table"
    )
    parser.add_argument("--out", type=Path, default=None, help="the same as OUTPUT")
    parser.add_argument("--compare", action="store_true", help="compare with Gammapy 2.1")
    parser.add_argument("--quiet", action="store_true", help="print only the table")
    args = parser.parse_args(argv)
    args.output = args.output or args.out or Path("seed003_output")

    def say(text):
        if not args.quiet:
            print(text)

    logging.basicConfig(level=logging.WARNING)
    path = data_dir() / "gammapy-data" / "hess-dl3-dr1"
    if not path.is_dir():
        parser.error(f"H.E.S.S. DL3 DR1 not found at {path}: set FLUXFIT_DATA")
    intervals = time_intervals()

    start = time.perf_counter()
    datasets = reduce(DataStore.from_dir(path), intervals, say=say)
    t_reduce = time.perf_counter() - start
    say(f"Data reduction: {len(datasets)} ON/OFF datasets in {t_reduce:.2f} s")

    spectral_model = PowerLawSpectralModel(
        index=3.0, amplitude=2e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV
    )
    model = SkyModel(spectral_model=spectral_model, name="pks2155")
    estimator = TimeResolvedSpectroscopyEstimator(intervals, model, energy_range=[1, 10] * u.TeV)
    start = time.perf_counter()
    result = estimator.run(datasets)
    t_fit = time.perf_counter() - start
    say(f"Fits: {len(result.table)} intervals in {t_fit:.2f} s ({len(result.skipped)} skipped)")

    columns = ["tstart", "tstop", "n_datasets", "success", "index", "index_err"]
    columns += ["amplitude", "amplitude_err", "flux", "flux_err", "stat", "counts"]
    print("\n".join(result.table[columns].pformat(max_lines=-1, max_width=-1)))
    print(f"KEY n_datasets = {len(datasets)}")
    print(f"KEY n_intervals = {len(result.table)}")
    print(f"KEY n_success = {int(np.sum(result.table['success']))}")
    print(f"KEY index_first = {float(result.table['index'][0]):.4f}")

    args.output.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    paths = result.save_plots(args.output, prefix="seed003", overwrite=True)
    table_path = args.output / "seed003_time_resolved.ecsv"
    result.write(table_path, overwrite=True)
    for p in [*paths, table_path]:
        say(f"wrote {p}")
    if args.compare:
        compare_with_gammapy(result.table, say=say)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
