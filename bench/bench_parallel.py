"""Scaling benchmark of the parallel layer: light curves of 10, 100 and 1000 time bins.

Data: one H.E.S.S. DL3 DR1 run on PKS 2155-304 (47802) reduced with `fluxfit.makers`
(reflected-regions background, aeff-max 10 % safe mask, 0.4-20 TeV in 12 bins) to an
ON/OFF spectrum. Its exposure, energy dispersion and background are the template of every
time bin: bin ``k`` is a copy with its own GTI (the run's 28 minutes, one bin an hour) whose
ON and OFF counts are simulated (``fake``) from a power law of index 3 whose amplitude
varies from bin to bin, plus a faint second source ("other", free amplitude) that
``reoptimize=True`` refits in every bin.

Work: ``LightCurveEstimator(energy_edges=[0.4, 20] TeV, source="pks2155",
reoptimize=True, selection_optional=["errn-errp", "ul"])`` -- the general path: each time
bin is one task of `fluxfit.parallel` (a minuit fit of norm and the other amplitude, MINOS
errors, the upper limit). The vectorised path (no ``reoptimize``) solves all bins in one
call and is timed too, for scale.

Each (bins, backend) configuration runs in its own subprocess, so that no pool or Ray
daemon of one run competes with another: the datasets are simulated there, one warm-up on
4 bins, then ``--repeats`` timed runs (1 for 1000 bins) and one run under ``tracemalloc``
for the memory the run allocates in the parent process. Peak RSS: the parent's and the
largest pool worker's (``getrusage``; Ray's workers are not children of the script).

Gammapy 2.1's ``LightCurveEstimator`` runs on the same counts (the template written to
OGIP and read back by Gammapy) for the smallest light curve (``--gammapy-bins``).

Usage::

    /tmp/benchvenv/bin/python bench/bench_parallel.py           # updates bench/RESULTS.md
    python bench/bench_parallel.py --bins 10 100 --no-ray --no-write
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import logging
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

import _common

HEADING = "## Parallel scaling: light curves of 10-1000 bins (bench/bench_parallel.py)"
RUN = 47802
TARGET_DEG = (329.71693826, -30.2255890)
STEP = 3600.0  # s between the starts of two bins
SELECTION = ["errn-errp", "ul"]


# ------------------------------------------------------------------------- datasets
def template_dataset(data: Path):
    """The reduced ON/OFF spectrum of run 47802 (fluxfit makers)."""
    import astropy.units as u
    from astropy.coordinates import Angle, SkyCoord
    from regions import CircleSkyRegion

    from fluxfit.data import DataStore
    from fluxfit.makers import make_spectrum_datasets
    from fluxfit.maps import MapAxis, RegionGeom

    store = DataStore.from_dir(data / "gammapy-data/hess-dl3-dr1")
    observations = store.get_observations([RUN])
    target = SkyCoord(*TARGET_DEG, unit="deg")
    energy = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=12)
    energy_true = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=30, name="energy_true")
    geom = RegionGeom.create(
        region=CircleSkyRegion(target, Angle(0.11 * u.deg)), axes=[energy.copy()]
    )
    return make_spectrum_datasets(observations, geom, energy_true)[0]


def fluxfit_models(amplitude=5e-11):
    from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

    source = SkyModel(
        PowerLawSpectralModel(index=3.0, amplitude=f"{amplitude} cm-2 s-1 TeV-1"), name="pks2155"
    )
    other = SkyModel(
        PowerLawSpectralModel(index=2.0, amplitude="5e-13 cm-2 s-1 TeV-1"), name="other"
    )
    other.spectral_model.index.frozen = True
    other.spectral_model.amplitude.min = 0.0
    return Models([source, other])


def factors(n_bins: int) -> np.ndarray:
    return 1 + 0.5 * np.sin(np.arange(n_bins) / 5.0)


def simulate(template, n_bins: int, seed: int = 0):
    """``n_bins`` copies of the template, each with its GTI and simulated ON/OFF counts."""
    from fluxfit.datasets import Datasets, GoodTimeIntervals

    rng = np.random.default_rng(seed)
    gti = template.gti
    start0, duration = float(gti.start[0]), float(gti.stop[0] - gti.start[0])
    out = []
    for k, factor in enumerate(factors(n_bins)):
        dataset = template.copy(name=f"bin{k:04d}")
        start = start0 + k * STEP
        dataset.gti = GoodTimeIntervals([start], [start + duration], gti.header)
        dataset.models = fluxfit_models(5e-11 * factor)
        dataset.fake(npred_background=template.background, random_state=rng)
        dataset.models = None
        out.append(dataset)
    datasets = Datasets(out)
    datasets.models = fluxfit_models()
    return datasets


def estimator(n_jobs=1, backend="serial", reoptimize=True):
    import astropy.units as u

    from fluxfit.estimators import LightCurveEstimator

    return LightCurveEstimator(
        energy_edges=[0.4, 20] * u.TeV,
        source="pks2155",
        reoptimize=reoptimize,
        selection_optional=SELECTION,
        n_jobs=n_jobs,
        parallel_backend=backend,
    )


# ---------------------------------------------------------------------- one config
def _max_rss_mb(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # kB on Linux


def _own_cpu() -> float:
    """CPU seconds of this process and its reaped children (the pool workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _machine_cpu() -> float:
    """CPU seconds the whole machine spent busy since boot (``/proc/stat``), NaN elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    jiffies = [int(x) for x in fields]
    busy = sum(jiffies) - jiffies[3] - (jiffies[4] if len(jiffies) > 4 else 0)  # - idle, iowait
    return busy / os.sysconf("SC_CLK_TCK")


def run_config(n_bins: int, backend: str, n_jobs: int, repeats: int) -> dict:
    """Time one (bins, backend, workers) configuration in this process (the child)."""
    logging.getLogger("fluxfit").setLevel(logging.ERROR)
    data = _common.shared_dir() / "data"
    start = time.perf_counter()
    datasets = simulate(template_dataset(data), n_bins)
    simulate_s = time.perf_counter() - start
    out = {"bins": n_bins, "backend": backend, "n_jobs": n_jobs, "simulate_s": simulate_s}
    if backend == "ray":
        from fluxfit import parallel

        start = time.perf_counter()
        parallel._ray(n_jobs)
        out["ray_start_s"] = time.perf_counter() - start
    if backend == "vectorised":
        est = estimator(reoptimize=False)
    else:
        est = estimator(n_jobs, backend)
    warm = type(datasets)(list(datasets)[:4])
    warm.models = datasets.models
    est.run(warm)  # imports, pool start-up paths, Ray workers
    rss_before = _max_rss_mb(resource.RUSAGE_SELF)
    times, result = [], None
    machine0, own0 = _machine_cpu(), _own_cpu()
    for _ in range(repeats):
        start = time.perf_counter()
        result = est.run(datasets)
        times.append(time.perf_counter() - start)
    machine1, own1 = _machine_cpu(), _own_cpu()
    own_cpu = (own1 - own0) / repeats
    # CPU the rest of the machine used meanwhile, in cores (Ray's workers are not our
    # children: for Ray this includes them)
    others = ((machine1 - machine0) - (own1 - own0)) / sum(times)
    tracemalloc.start()
    traced = est.run(datasets)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out.update(
        times=times,
        cpu_s=own_cpu if backend != "ray" else None,
        others_cores=others if backend != "ray" else None,
        traced_peak_mb=peak / 1e6,
        rss_parent_mb=_max_rss_mb(resource.RUSAGE_SELF),
        rss_parent_before_mb=rss_before,
        rss_worker_mb=_max_rss_mb(resource.RUSAGE_CHILDREN)
        if backend == "multiprocessing"
        else None,
        norm=np.asarray(result.norm, float).ravel().tolist(),
        norm_traced_equal=bool(
            np.array_equal(np.asarray(traced.norm), np.asarray(result.norm), equal_nan=True)
        ),
        success=int(np.sum(result.success)),
    )
    if backend == "ray":
        from fluxfit import parallel

        parallel.shutdown()
    return out


def child_main(argv) -> None:
    n_bins, backend, n_jobs, repeats = int(argv[0]), argv[1], int(argv[2]), int(argv[3])
    print("RESULT " + json.dumps(run_config(n_bins, backend, n_jobs, repeats)), flush=True)


def run_child(n_bins, backend, n_jobs, repeats, timeout=3600) -> dict | None:
    command = [sys.executable, __file__, "--child", str(n_bins), backend, str(n_jobs), str(repeats)]
    print(f"  {n_bins} bins, {backend}, {n_jobs} worker(s) ...", flush=True)
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
            print(f"    {min(result['times']):.3f} s", flush=True)
            return result
    print(f"    failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", flush=True)
    return None


# -------------------------------------------------------------------------- Gammapy
def gammapy_run(n_bins: int, repeats: int, n_jobs: int = 1) -> dict | None:
    """Gammapy's LightCurveEstimator on the same counts (same template and seed)."""
    try:
        import astropy.units as u
        import gammapy
        from astropy.time import Time
        from gammapy.data import GTI
        from gammapy.datasets import Datasets
        from gammapy.estimators import LightCurveEstimator
        from gammapy.modeling.models import Models, PowerLawSpectralModel, SkyModel
    except ImportError:
        return None
    logging.getLogger("gammapy").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    from astropy.coordinates import Angle, SkyCoord
    from gammapy.data import DataStore
    from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
    from gammapy.maps import MapAxis, RegionGeom
    from regions import CircleSkyRegion

    data = _common.shared_dir() / "data"
    template = template_dataset(data)
    ours = simulate(template, n_bins)
    # Gammapy's own reduction of the same run (same geometry, makers and options)
    store = DataStore.from_dir(data / "gammapy-data/hess-dl3-dr1")
    observation = store.get_observations([RUN])[0]
    energy = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=12)
    energy_true = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=30, name="energy_true")
    region = CircleSkyRegion(SkyCoord(*TARGET_DEG, unit="deg"), Angle(0.11 * u.deg))
    geom = RegionGeom.create(region=region, axes=[energy])
    from gammapy.datasets import SpectrumDataset

    empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_true)
    maker = SpectrumDatasetMaker(
        containment_correction=True, selection=["counts", "exposure", "edisp"]
    )
    base = maker.run(empty, observation)
    base = ReflectedRegionsBackgroundMaker().run(base, observation)
    base = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10).run(base, observation)
    header = template.gti.header
    reference = Time(header["MJDREFI"] + header["MJDREFF"], format="mjd", scale="tt")

    def models():
        source = SkyModel(
            PowerLawSpectralModel(index=3.0, amplitude="5e-11 cm-2 s-1 TeV-1"), name="pks2155"
        )
        other = SkyModel(
            PowerLawSpectralModel(index=2.0, amplitude="5e-13 cm-2 s-1 TeV-1"), name="other"
        )
        other.spectral_model.index.frozen = True
        other.spectral_model.amplitude.min = 0.0
        return Models([source, other])

    datasets = []
    for dataset in ours:
        copy = base.copy(name=dataset.name)
        copy.counts.data[...] = np.asarray(dataset.counts).reshape(copy.counts.data.shape)
        copy.counts_off.data[...] = np.asarray(dataset.counts_off).reshape(
            copy.counts_off.data.shape
        )
        copy.gti = GTI.create(
            [dataset.gti.start[0]] * u.s, [dataset.gti.stop[0]] * u.s, reference_time=reference
        )
        datasets.append(copy)
    datasets = Datasets(datasets)
    datasets.models = models()
    est = LightCurveEstimator(
        energy_edges=[0.4, 20] * u.TeV,
        source="pks2155",
        reoptimize=True,
        selection_optional=SELECTION,
        n_jobs=n_jobs,
    )
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = est.run(datasets)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    est.run(datasets)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "version": gammapy.__version__,
        "bins": n_bins,
        "n_jobs": n_jobs,
        "times": times,
        "traced_peak_mb": peak / 1e6,
        "norm": np.asarray(result.norm.data, float).ravel().tolist(),
    }


# ---------------------------------------------------------------------------- report
def _fmt(seconds: float) -> str:
    return f"{seconds:.3g}" if seconds < 100 else f"{seconds:.0f}"


def report(results, peers, args) -> list[str]:
    machine = _common.machine()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    peer_name = f"Gammapy {peers[0]['version']}" if peers else "Gammapy"
    lines = [
        HEADING,
        "",
        f"Run {now}; `{machine['uname']}`; nproc={machine['nproc']}; {machine['cpu']}; "
        f"Python {machine['python']}, numpy {machine['numpy']}. H.E.S.S. DR1 run 47802 reduced with fluxfit.makers, one simulated ON/OFF spectrum "
        "per time bin, `LightCurveEstimator(reoptimize=True, selection_optional=['errn-errp', "
        "'ul'])` (a fit per bin: one `fluxfit.parallel` task per bin). Each configuration in its "
        "own process; min / median of the timed runs (3, or 2 for 1000 bins).",
        "",
        f"| light curve | backend | workers | fluxfit min / median (s) | per bin (ms) "
        f"| speed-up vs serial | {peer_name} min / median (s) | ratio (peer / fluxfit, min) "
        "| CPU per run, parent + workers (s) | other load (cores) "
        "| parent peak, tracemalloc (MB) | max RSS parent / worker (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    serial = {r["bins"]: min(r["times"]) for r in results if r["backend"] == "serial"}
    by_key = {(r["bins"], r["backend"], r["n_jobs"]): r for r in results}
    peer_by_bins = {p["bins"]: p for p in peers}
    for r in results:
        best, median = min(r["times"]), float(np.median(r["times"]))
        per_bin = 1e3 * best / r["bins"]
        speedup = serial.get(r["bins"], np.nan) / best
        backend = r["backend"]
        if backend == "vectorised":
            backend = "vectorised (no reoptimize)"
        elif backend == "ray":
            backend = f"ray (start-up {r['ray_start_s']:.1f} s, not counted)"
        rss = f"{r['rss_parent_mb']:.0f} / " + (
            f"{r['rss_worker_mb']:.0f}" if r.get("rss_worker_mb") else "-"
        )
        cpu = "-" if r.get("cpu_s") is None else f"{r['cpu_s']:.3g}"
        others = "-" if r.get("others_cores") is None else f"{r['others_cores']:.2f}"
        peer_cells = "- | -"
        peer = peer_by_bins.get(r["bins"])
        if peer is not None and r["backend"] == "serial" and peer["n_jobs"] == 1:
            p_best, p_median = min(peer["times"]), float(np.median(peer["times"]))
            peer_cells = f"{_fmt(p_best)} / {_fmt(p_median)} | {p_best / best:.0f}x"
        lines.append(
            f"| {r['bins']} bins | {backend} | {r['n_jobs']} | {_fmt(best)} / {_fmt(median)} "
            f"| {per_bin:.1f} | {speedup:.2f}x | {peer_cells} | {cpu} | {others} "
            f"| {r['traced_peak_mb']:.1f} | {rss} |"
        )
    lines.append("")
    # growth with the work
    for backend in ("serial", "multiprocessing", "ray"):
        rows = sorted((r["bins"], min(r["times"])) for r in results if r["backend"] == backend)
        if len(rows) >= 2:
            steps = ", ".join(
                f"{b1}->{b2} bins: x{t2 / t1:.1f}"
                for (b1, t1), (b2, t2) in itertools.pairwise(rows)
            )
            lines.append(f"- Growth, {backend}: {steps} (work x10 each step).")
    largest = max((r["bins"] for r in results), default=None)
    mp = by_key.get((largest, "multiprocessing", 2))
    ray = by_key.get((largest, "ray", 2))
    if mp and largest in serial:
        speedup = serial[largest] / min(mp["times"])
        verdict = "met" if speedup >= 1.6 else "NOT met"
        lines.append(
            f"- Goal: >= 1.6x with 2 workers on {largest} bins: {speedup:.2f}x ({verdict})."
        )
    if mp and ray:
        gap = min(ray["times"]) / min(mp["times"]) - 1
        verdict = "met" if gap <= 0.2 else "NOT met"
        lines.append(
            f"- Goal: Ray within 20 % of multiprocessing on {largest} bins: {100 * gap:+.0f} % "
            f"({verdict})."
        )
    same = []
    for (bins, backend, _), r in by_key.items():
        base = by_key.get((bins, "serial", 1))
        if base and backend not in ("serial", "vectorised"):
            same.append(r["norm"] == base["norm"])
    if same:
        lines.append(
            "- Results: every backend's norms equal the serial ones bit for bit: "
            f"{'yes' if all(same) else 'NO'}."
        )
    for p in peers:
        ours = by_key.get((p["bins"], "serial", 1))
        if ours:
            a, b = np.asarray(ours["norm"]), np.asarray(p["norm"])
            diff = np.nanmax(np.abs(a / b - 1)) if a.shape == b.shape else np.nan
            lines.append(
                f"- Gammapy {p['version']} (`LightCurveEstimator`, same options, its own "
                f"reduction of the run, the same simulated counts) on {p['bins']} bins: "
                f"{1e3 * min(p['times']) / p['bins']:.0f} ms per bin, tracemalloc peak "
                f"{p['traced_peak_mb']:.1f} MB; max relative norm difference {diff:.1e}."
            )
    lines.append(
        "- CPU per run: this process and its pool workers (not Ray's, which are not its "
        "children): equal CPU on every backend means the pool costs no extra work, so the "
        "wall-clock speed-up is set by the idle cores; 'other load' is the CPU the rest of the "
        "machine used during the timed runs, in cores -- above ~0.3 the speed-ups are "
        "understated."
    )
    lines.append(
        "- Memory: tasks are submitted lazily (at most two chunks per worker in flight) and "
        "only a bin's datasets are copied, inside its task, so no run holds copies of all "
        "datasets. What grows is the result: `LightCurveEstimator` keeps `counts`, `npred` and "
        "`npred_excess` per dataset for every bin (NaN outside it, Gammapy's layout), arrays of "
        "bins x energy groups x datasets -- 24 MB at 1000 one-run bins, quadratic in the number "
        "of runs; the rest of the parent's peak is the datasets' prediction caches."
    )
    return lines


# ---------------------------------------------------------------------------- main
def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child_main(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bins", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (1 for >= 1000 bins)")
    parser.add_argument("--n-jobs", type=int, default=2, help="workers of the parallel runs")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray backend")
    parser.add_argument("--no-peer", action="store_true", help="skip Gammapy")
    parser.add_argument("--gammapy-bins", type=int, default=10, help="bins of Gammapy's run")
    parser.add_argument("--peer-repeats", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)
    if not (_common.shared_dir() / "data/gammapy-data/hess-dl3-dr1").is_dir():
        raise SystemExit("H.E.S.S. DL3 DR1 not found (../shared/data or FLUXFIT_DATA)")
    try:
        import ray  # noqa: F401

        have_ray = not args.no_ray
    except ImportError:
        have_ray = False
        print("ray is not installed: the Ray rows are left out")
    n_cores = os.cpu_count() or 1
    configs = []
    for n_bins in args.bins:
        repeats = min(2, args.repeats) if n_bins >= 1000 else args.repeats
        configs.append((n_bins, "vectorised", 1, repeats))
        configs.append((n_bins, "serial", 1, repeats))
        configs.append((n_bins, "multiprocessing", args.n_jobs, repeats))
        if n_cores > args.n_jobs:
            configs.append((n_bins, "multiprocessing", n_cores, repeats))
        if have_ray:
            configs.append((n_bins, "ray", args.n_jobs, repeats))
    results = []
    for config in configs:
        result = run_child(*config)
        if result is not None:
            results.append(result)
    peers = []
    if not args.no_peer:
        print(f"  Gammapy, {args.gammapy_bins} bins ...", flush=True)
        peer = gammapy_run(args.gammapy_bins, args.peer_repeats)
        if peer is None:
            print("    Gammapy not installed")
        else:
            print(f"    {min(peer['times']):.3f} s", flush=True)
            peers.append(peer)
    lines = report(results, peers, args)
    print("\n".join(lines))
    if not args.no_write:
        _common.write_section(HEADING, "\n".join(lines))


if __name__ == "__main__":
    main()
