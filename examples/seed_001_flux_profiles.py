"""Seed 001: flux profiles on the Fermi-LAT Galactic-centre dataset (Gammapy's tutorial, in fluxfit).

The 3FHL Galactic-centre MapDataset (400 x 200 pixels, 11 energy bins 10-500 GeV) is cut
into regions along a profile, and the norm of a power law (index 2.3) is fitted in each:

1. rectangles along Galactic longitude, 3 deg high: the seed's 51 bins from l = 10 deg to
   l = 350 deg (two of them straddle the unsafe 1-deg border of the map: Gammapy 2.1 refuses
   them, fluxfit uses their safe pixels), and the Gammapy 2.1 tutorial's 49 bins from
   l = 9 deg to l = 351 deg, compared with Gammapy's numbers when the reference is there;
2. the profile plotted in dnde and eflux, the predicted counts, written in the "profile"
   format and read back, printed as a table;
3. concentric annuli around the Galactic centre (radius 1.5 deg), two energy bins, upper
   limits and likelihood scans at norm values -1..5, plotted with the likelihood profiles.

Usage::

    python examples/seed_001_flux_profiles.py [--out seed001_output] [--quiet]

Data: ``$FLUXFIT_DATA/gammapy-data/fermi-3fhl-gc/fermi-3fhl-gc.fits.gz`` (or
``../shared/data`` beside the repository). Figures and the profile files go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from astropy.coordinates import SkyCoord

from fluxfit.datasets import FluxPoints
from fluxfit.datasets.map import MapDataset
from fluxfit.estimators import FluxProfileEstimator
from fluxfit.maps import (
    RegionGeom,
    make_concentric_annulus_sky_regions,
    make_orthogonal_rectangle_sky_regions,
)
from fluxfit.models import PowerLawSpectralModel

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    env = os.environ.get("FLUXFIT_DATA")
    return Path(env).parent if env else REPO.parent / "shared"


def data_dir() -> Path:
    env = os.environ.get("FLUXFIT_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def rectangles(wcs, start, stop, nbin):
    return make_orthogonal_rectangle_sky_regions(
        start_pos=SkyCoord(f"{start}d", "0d", frame="galactic"),
        end_pos=SkyCoord(f"{stop}d", "0d", frame="galactic"),
        wcs=wcs,
        height="3 deg",
        nbin=nbin,
    )


def save(fig, folder: Path, name: str, written: list) -> None:
    path = folder / name
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    written.append(path)


def compare_with_gammapy(profile, key: str, say) -> dict | None:
    """Largest relative differences to Gammapy 2.1 (absolute 0.01 near zero)."""
    path = shared_dir() / "reference" / "gammapy" / "wf1_flux_profile.json"
    if not path.is_file():
        say(f"(no Gammapy reference at {path})")
        return None
    bins = json.loads(path.read_text())[key]["bins"]
    table = profile.to_table(format="profile")
    worst = {}
    for name in ("norm", "norm_err", "ts", "norm_ul"):
        ref = np.array([np.ravel(b[name])[0] for b in bins], dtype=float)
        ours = np.asarray(table[name], dtype=float).ravel()
        worst[name] = float(np.nanmax(np.abs(ours - ref) / np.maximum(np.abs(ref), 0.01)))
    say(
        f"{key} vs Gammapy 2.1: max difference "
        + ", ".join(f"{k} {v:.1e}" for k, v in worst.items())
        + " (acceptance: 1e-2)"
    )
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="seed001_output", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="print the key numbers only")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def say(text=""):
        if not args.quiet:
            print(text)

    def key(name, value):
        print(f"KEY {name} = {value}")

    written: list[Path] = []
    start_all = time.perf_counter()
    filename = data_dir() / "gammapy-data/fermi-3fhl-gc/fermi-3fhl-gc.fits.gz"
    dataset = MapDataset.read(filename, name="fermi-dataset")
    counts_image = dataset.counts.sum_over_axes()
    say(str(dataset.counts))
    fig = plt.figure(figsize=(9, 5))
    counts_image.smooth("0.1 deg").plot(fig=fig, stretch="sqrt")
    save(fig, out, "counts_image.png", written)

    # -------------------------------------------------------------- rectangles
    wcs = counts_image.geom.wcs
    regions = rectangles(wcs, 10, 350, 51)
    fig = plt.figure(figsize=(9, 5))
    ax = counts_image.smooth("0.1 deg").plot(fig=fig, stretch="sqrt")
    RegionGeom.create(region=regions).plot_region(ax=ax, color="w")
    save(fig, out, "regions_rectangles.png", written)

    estimator = FluxProfileEstimator(
        regions=regions,
        spectrum=PowerLawSpectralModel(index=2.3),
        energy_edges=[10, 2000] * u.GeV,
        selection_optional=["ul"],
    )
    say(str(estimator))
    t0 = time.perf_counter()
    profile = estimator.run(datasets=dataset)
    elapsed = time.perf_counter() - t0
    say(f"51-bin profile (the seed's, mask_safe kept): {elapsed * 1e3:.0f} ms")
    say(str(profile))
    key("profile51_n_bins", profile.axes["projected-distance"].nbin)
    key("profile51_n_success", int(profile.success.sum()))
    key("profile51_norm_bin3", f"{profile.norm[3, 0]:.4f}")
    key("profile51_ts_bin3", f"{profile.ts[3, 0]:.2f}")

    fig, ax = plt.subplots(figsize=(8, 5))
    profile.plot(ax=ax, sed_type="dnde")
    ax.set_yscale("linear")
    save(fig, out, "profile_dnde.png", written)

    profile.sqrt_ts_threshold_ul = 2
    fig, ax = plt.subplots(figsize=(8, 5))
    profile.plot(ax=ax, sed_type="eflux")
    ax.set_yscale("linear")
    save(fig, out, "profile_eflux.png", written)

    fig, ax = plt.subplots(figsize=(8, 5))
    x = profile.axes["projected-distance"].center.to_value("deg")
    for quantity in ("npred", "npred_excess", "npred_background"):
        values = np.asarray(getattr(profile, quantity), dtype=float).reshape(x.size, -1).sum(1)
        ax.plot(x, values, drawstyle="steps-mid", label=quantity.title())
    ax.set_xlabel("Projected distance [deg]")
    ax.set_ylabel("Counts")
    ax.legend()
    save(fig, out, "profile_npred.png", written)

    path = out / "flux_profile_fermi.fits"
    profile.write(filename=path, format="profile", overwrite=True, sed_type="dnde")
    profile_new = FluxPoints.read(filename=path, format="profile")
    roundtrip = float(np.nanmax(np.abs(profile_new.dnde.value / profile.dnde.value - 1)))
    key("roundtrip_max_rel_dnde", f"{roundtrip:.1e}")
    fig, ax = plt.subplots(figsize=(8, 5))
    profile_new.plot(ax=ax)
    ax.set_yscale("linear")
    save(fig, out, "profile_read_back.png", written)
    table = profile.to_table(format="profile", formatted=True)
    say(str(table["x_ref", "norm", "norm_err", "norm_ul", "ts", "counts", "success"][:8]))

    # the Gammapy 2.1 tutorial's geometry, and the seed's on the unmasked dataset
    tutorial = FluxProfileEstimator(
        regions=rectangles(wcs, 9, 351, 49),
        spectrum=PowerLawSpectralModel(index=2.3),
        energy_edges=[10, 2000] * u.GeV,
        selection_optional=["ul"],
    )
    t0 = time.perf_counter()
    profile49 = tutorial.run(dataset)
    key("profile49_time_ms", f"{(time.perf_counter() - t0) * 1e3:.0f}")
    key("profile49_norm_bin1", f"{profile49.norm[1, 0]:.4f}")
    worst = compare_with_gammapy(profile49, "a_tutorial21_49bins", say)
    if worst:
        key("profile49_max_diff_vs_gammapy", f"{max(worst.values()):.1e}")
    unmasked = dataset.copy(name="fermi-dataset")
    unmasked.mask_safe = None
    profile51_nomask = estimator.run(unmasked)
    worst = compare_with_gammapy(profile51_nomask, "a_brief_51bins_nomasksafe", say)
    if worst:
        key("profile51_nomask_max_diff_vs_gammapy", f"{max(worst.values()):.1e}")

    # ------------------------------------------------------------------ annuli
    regions = make_concentric_annulus_sky_regions(
        center=SkyCoord("0d", "0d", frame="galactic"), radius_max="1.5 deg", nbin=11
    )
    gc_image = counts_image.cutout(position=SkyCoord("0d", "0d", frame="galactic"), width=3 * u.deg)
    fig = plt.figure(figsize=(6, 6))
    ax = gc_image.smooth("0.1 deg").plot(fig=fig, stretch="sqrt")
    RegionGeom.create(region=regions).plot_region(ax=ax, color="w")
    save(fig, out, "regions_annuli.png", written)

    estimator = FluxProfileEstimator(
        regions=regions,
        spectrum=PowerLawSpectralModel(index=2.3),
        energy_edges=[10, 100, 2000] * u.GeV,
        selection_optional=["ul", "scan"],
        norm_values=np.linspace(-1, 5, 11),
    )
    annuli = estimator.run(datasets=dataset)
    key("annuli_shape", "x".join(str(n) for n in annuli.data_shape))
    key("annuli_ts_inner_low", f"{annuli.ts[0, 0]:.1f}")
    key("annuli_energy_edges_GeV", " ".join(f"{e:.2f}" for e in annuli.energy_axis.edges.value))
    fig, ax = plt.subplots(figsize=(8, 5))
    annuli.plot(ax=ax, axis_name="projected-distance", sed_type="flux")
    save(fig, out, "annuli_flux.png", written)

    profile_high = annuli.slice_by_idx({"energy": slice(1, 2)})
    fig, ax = plt.subplots(figsize=(8, 5))
    profile_high.plot(ax=ax, sed_type="eflux", color="tab:orange")
    profile_high.plot_ts_profiles(ax=ax, sed_type="eflux")  # along the profile axis, as Gammapy
    ax.set_yscale("linear")
    save(fig, out, "annuli_high_eflux_ts_profiles.png", written)
    annuli.write(out / "flux_profile_annuli.fits", format="profile", overwrite=True)

    key("n_figures", sum(1 for p in written if p.suffix == ".png"))
    key("total_time_s", f"{time.perf_counter() - start_all:.1f}")
    say("written: " + ", ".join(p.name for p in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
