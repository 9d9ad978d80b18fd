r"""Vectorised solver of many independent one-dimensional norm problems.

A flux point (or a profile bin) fits one number, the ``norm`` of the source in
an energy group, with everything else fixed. The predicted counts of the
source (``s``) and of everything else (``b``: other sources, and a known
background for the Cash statistic) are computed once per channel; the
statistic of group ``g`` is then a one-dimensional function

.. math::
    f_g(x) = \sum_{c \in g} \mathrm{stat}_c(x\, s_c + b_c),

summed over the channels (and pixels, and datasets) of the group. With the
Cash statistic ``stat_c`` is :math:`2(\mu - n\ln\mu)` (``mu`` truncated at
1e-25, as Gammapy); with the W-statistic the OFF background is profiled per
channel analytically (`fluxfit.stats.wstat`), still a convex function of the
signal. `NormProblem` evaluates all ``f_g`` with their first and second
derivatives at once, for one or several values of ``x`` per group, in a
dozen array operations over all channels; `minimize_norm`,
`find_norm_crossing` and `NormProblem.value` then give the best fit, the
points where the statistic has risen by ``n_sigma**2`` (errors, upper
limits) and the likelihood scans of every group together.

Derivatives
-----------
Cash (``mu = x s + b`` above the truncation, where they are zero)::

    f'  = 2 s (1 - n / mu)          f'' = 2 n s^2 / mu^2

W-stat, with ``mu_on = mu_sig + alpha mu_bkg`` and the profiled ``mu_bkg``
(``C``, ``D`` as in `fluxfit.stats.wstat`); by the envelope theorem the
derivative of the profiled statistic is the partial one::

    f'  = 2 s (1 - n_on / mu_on)
    f'' = s^2 n_on / mu_on^2 (1 + (2 alpha n_off - C) / D)

(the last factor is 2 where ``mu_bkg`` is clamped at 0 and 0 where the profile
is linear, e.g. ``n_off = 0`` below the ON counts).

Robustness: the minimisation is a safeguarded Newton iteration on ``f'``
(non-decreasing: both statistics are convex in the norm where defined) inside
a bracket that shrinks at every step, with bisection or geometric expansion
whenever the Newton step leaves the bracket; the crossings are the same on
``f - f_min - delta`` on one side of the minimum. For the Cash statistic the
search stays inside the domain where no channel with counts is truncated
(``x s + b > 1e-25``), where ``f`` is convex and tends to +inf at the edge;
negative norms are allowed (no bounds unless given).

Examples
--------
>>> import numpy as np
>>> from fluxfit.estimators.norm_solver import NormProblem, minimize_norm
>>> problem = NormProblem(n_groups=2)
>>> problem.add_cash(group=np.array([0, 0, 1]), counts=np.array([3.0, 5.0, 2.0]),
...                  npred_source=np.array([2.0, 4.0, 1.0]), npred_other=np.zeros(3))
>>> problem.finalize()
>>> best = minimize_norm(problem)
>>> best.x.round(6).tolist()  # sum(n) / sum(s) for each group
[1.333333, 2.0]
"""

from __future__ import annotations

import numpy as np

from fluxfit.stats._core import TRUNCATION_VALUE

__all__ = [
    "NormProblem",
    "MinimizeResult",
    "minimize_norm",
    "find_norm_crossing",
    "find_norm_crossings",
]

_TINY = 1e-300
_BIG = 1e10  # crossings further than this (in units of the scale) do not exist


def _column(values, size: int | None = None) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64).ravel()
    if size is not None and array.size != size:
        raise ValueError(f"expected {size} values, got {array.size}")
    return array


class _CashTerms:
    """Channels with a known background: Cash statistic."""

    def __init__(self, group, counts, s, b):
        self.group = group
        self.n = counts
        self.s = s
        self.b = b

    def take(self, order):
        return _CashTerms(self.group[order], self.n[order], self.s[order], self.b[order])

    def evaluate(self, x, order: int):
        """Per-channel value (and derivatives up to ``order``) at norms ``x`` (N, K)."""
        s = self.s[:, None]
        n = self.n[:, None]
        mu = x * s
        mu += self.b[:, None]
        truncated = mu <= TRUNCATION_VALUE
        np.maximum(mu, TRUNCATION_VALUE, out=mu)
        log_mu = np.log(mu)
        value = 2.0 * (mu - n * log_mu)
        if order == 0:
            return (value,)
        ratio = n / mu
        d1 = 2.0 * s * (1.0 - ratio)
        d1[truncated] = 0.0
        if order == 1:
            return value, d1
        d2 = 2.0 * s * s * ratio / mu
        d2[truncated] = 0.0
        return value, d1, d2

    def npred(self, x):
        return x * self.s + self.b


class _WStatTerms:
    """Channels with an OFF measurement: W-statistic, background profiled."""

    def __init__(self, group, n_on, n_off, alpha, s, b):
        self.group = group
        self.n_on = n_on
        self.n_off = n_off
        self.alpha = alpha
        self.s = s
        self.b = b
        self._setup()

    def _setup(self):
        alpha = self.alpha
        self.one_plus_alpha = 1.0 + alpha
        self.c0 = alpha * (self.n_on + self.n_off)
        self.d0 = 4.0 * alpha * self.one_plus_alpha * self.n_off
        self.inverse = 0.5 / (alpha * self.one_plus_alpha)
        self.two_alpha_off = 2.0 * alpha * self.n_off
        with np.errstate(divide="ignore", invalid="ignore"):
            gof = 2.0 * (
                np.where(self.n_on > 0, self.n_on * np.log(self.n_on), 0.0)
                - self.n_on
                + np.where(self.n_off > 0, self.n_off * np.log(self.n_off), 0.0)
                - self.n_off
            )
        self.gof = gof
        # channels without ON counts: below this signal the profile sits on mu_on = 0
        self.zero_on = np.flatnonzero(self.n_on == 0)
        self.threshold = -alpha * self.n_off / self.one_plus_alpha

    def take(self, order):
        return _WStatTerms(
            self.group[order],
            self.n_on[order],
            self.n_off[order],
            self.alpha[order],
            self.s[order],
            self.b[order],
        )

    def _profile(self, mu_sig):
        one_plus_alpha = self.one_plus_alpha[:, None]
        root = self.c0[:, None] - one_plus_alpha * mu_sig  # C
        disc = root * root
        disc += self.d0[:, None] * mu_sig
        np.maximum(disc, 0.0, out=disc)
        d = np.sqrt(disc)  # D
        mu_bkg = root + d
        clamped = mu_bkg <= 0.0
        np.maximum(mu_bkg, 0.0, out=mu_bkg)
        mu_bkg *= self.inverse[:, None]
        return root, d, mu_bkg, clamped

    def evaluate(self, x, order: int):
        s = self.s[:, None]
        alpha = self.alpha[:, None]
        n_on = self.n_on[:, None]
        mu_sig = x * s
        mu_sig += self.b[:, None]
        root, d, mu_bkg, clamped = self._profile(mu_sig)
        mu_on = alpha * mu_bkg
        mu_on += mu_sig
        np.maximum(mu_on, 0.0, out=mu_on)
        mu_on += _TINY
        value = mu_sig + self.one_plus_alpha[:, None] * mu_bkg
        value -= n_on * np.log(mu_on)
        value -= self.n_off[:, None] * np.log(mu_bkg + _TINY)
        value *= 2.0
        value += self.gof[:, None]
        if order == 0:
            return (value,)
        ratio = n_on / mu_on
        d1 = 2.0 * s * (1.0 - ratio)
        boundary = None
        if self.zero_on.size:
            # n_on = 0 and mu_sig < -alpha n_off / (1 + alpha): the profiled background is
            # mu_bkg = -mu_sig / alpha (mu_on = 0), W = 2 (u - n_off ln u) + G, u = mu_bkg
            idx = self.zero_on
            sub = mu_sig[idx]
            on_edge = sub < self.threshold[idx, None]
            if np.any(on_edge):
                alpha_z = self.alpha[idx, None]
                s_z = self.s[idx, None]
                u = -sub / alpha_z
                with np.errstate(divide="ignore", invalid="ignore"):
                    d1_edge = -(2.0 / alpha_z) * (1.0 - self.n_off[idx, None] / u) * s_z
                rows, cols = np.nonzero(on_edge)
                d1[idx[rows], cols] = d1_edge[rows, cols]
                boundary = (idx, rows, cols, u, alpha_z, s_z)
        if order == 1:
            return value, d1
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = 1.0 + (self.two_alpha_off[:, None] - root) / d
        factor = np.where(clamped | ~(d > 0.0), 2.0, factor)
        np.maximum(factor, 0.0, out=factor)
        d2 = s * s * ratio / mu_on * factor
        if boundary is not None:
            idx, rows, cols, u, alpha_z, s_z = boundary
            with np.errstate(divide="ignore", invalid="ignore"):
                d2_edge = 2.0 * s_z * s_z * self.n_off[idx, None] / (alpha_z * u) ** 2
            d2[idx[rows], cols] = d2_edge[rows, cols]
        return value, d1, d2

    def npred(self, x):
        """ON-region prediction at norm ``x``: signal plus profiled background."""
        mu_sig = x * self.s + self.b
        _, _, mu_bkg, _ = self._profile(mu_sig[:, None])
        return mu_sig + self.alpha * mu_bkg[:, 0]


def _with_segments(term):
    """Attach the group segments (``starts``, ``ids``) of a term sorted by group."""
    bounds = np.flatnonzero(np.r_[True, term.group[1:] != term.group[:-1]])
    term.starts = bounds
    term.ids = term.group[bounds]
    return term


class _LinearTerms:
    """Channels without any counts, summed per group where their statistic is linear.

    Cash with ``n = 0`` is ``2 mu`` above the truncation, W-stat with ``n_on = n_off = 0``
    is ``2 mu_sig`` for a non-negative signal: for norms in ``[lower, upper]`` (all such
    channels on the linear side) the group's sum is ``2 (x S + B) + C`` (``C``: channels
    the source does not reach). Outside that range (negative norms, in practice) the
    channels are evaluated one by one (``fallback``). Sparse count maps have mostly
    empty pixels: this removes them from the iterations.
    """

    def __init__(self, fallback, n_groups: int, threshold: float):
        self.fallback = fallback
        group, s, b = fallback.group, fallback.s, fallback.b
        self.slope = np.bincount(group, weights=s, minlength=n_groups)
        moving = s != 0
        self.offset = np.bincount(group[moving], weights=b[moving], minlength=n_groups)
        still = ~moving
        if np.any(still):
            sub = fallback.take(np.flatnonzero(still))
            value = sub.evaluate(np.zeros((sub.group.size, 1)), 0)[0][:, 0]
            self.constant = np.bincount(sub.group, weights=value, minlength=n_groups) / 2.0
        else:
            self.constant = np.zeros(n_groups)
        self.lower = np.full(n_groups, -np.inf)
        self.upper = np.full(n_groups, np.inf)
        pos, neg = s > 0, s < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.any(pos):
                np.maximum.at(self.lower, group[pos], (threshold - b[pos]) / s[pos])
            if np.any(neg):
                np.minimum.at(self.upper, group[neg], (threshold - b[neg]) / s[neg])
        self.has = np.zeros(n_groups, dtype=bool)
        self.has[group] = True

    def evaluate_groups(self, x2, order: int, reduce):
        inside = (x2 >= self.lower[:, None]) & (x2 <= self.upper[:, None])
        if not np.all(inside[self.has]):
            parts = self.fallback.evaluate(x2[self.fallback.group], order)
            return [reduce(self.fallback, part) for part in parts]
        slope = self.slope[:, None]
        value = 2.0 * (x2 * slope + (self.offset + self.constant)[:, None])
        out = [value]
        if order >= 1:
            out.append(np.broadcast_to(2.0 * slope, x2.shape))
        if order >= 2:
            out.append(np.zeros(x2.shape))
        return out


class MinimizeResult:
    """Best fit of every group: norm ``x``, statistic ``f``, curvature ``h``, ``success``,
    and ``message``: why a group failed, or a note (norm on its bound); "" otherwise."""

    def __init__(self, x, f, g, h, success, niter, message=None):
        self.x = x
        self.f = f
        self.g = g
        self.h = h
        self.success = success
        self.niter = niter
        self.message = np.full(np.shape(x), "") if message is None else message

    @property
    def error(self) -> np.ndarray:
        """1-sigma error from the curvature, ``sqrt(2 / f'')`` (the statistic is -2 ln L)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.h > 0, np.sqrt(2.0 / self.h), np.nan)


class NormProblem:
    """``n_groups`` independent statistics of one norm each, on fixed per-channel arrays.

    Channels are added with `add_cash` / `add_wstat` (any number of calls, any
    group order), each tagged with its group and, optionally, a dataset index
    (for per-dataset sums of counts and predictions); then `finalize`.

    Parameters
    ----------
    n_groups : int
        Number of independent problems (energy groups x regions...).
    n_datasets : int
        Number of datasets the per-dataset sums (`npred`, `counts`) run over.
    """

    def __init__(self, n_groups: int, n_datasets: int = 1):
        self.n_groups = int(n_groups)
        self.n_datasets = int(n_datasets)
        self._parts: dict[str, list] = {"cash": [], "wstat": []}
        self._terms: list = []
        self._final = False

    # ------------------------------------------------------------ building
    def add_cash(self, group, counts, npred_source, npred_other, dataset: int = 0) -> None:
        """Channels with the Cash statistic: ``mu = norm * npred_source + npred_other``."""
        group = np.asarray(group, dtype=np.int64).ravel()
        size = group.size
        self._parts["cash"].append(
            (
                group,
                np.full(size, dataset, dtype=np.int64),
                _column(counts, size),
                _column(npred_source, size),
                _column(npred_other, size),
            )
        )

    def add_wstat(
        self, group, counts, counts_off, alpha, npred_source, npred_other, dataset: int = 0
    ) -> None:
        """Channels with the W-statistic (``alpha`` > 0): signal ``norm * s + other``."""
        group = np.asarray(group, dtype=np.int64).ravel()
        size = group.size
        alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), np.shape(counts))
        self._parts["wstat"].append(
            (
                group,
                np.full(size, dataset, dtype=np.int64),
                _column(counts, size),
                _column(counts_off, size),
                _column(alpha, size),
                _column(npred_source, size),
                _column(npred_other, size),
            )
        )

    def finalize(self) -> None:
        """Sort the channels by group and precompute what the evaluations need."""
        terms = []
        datasets = []
        for kind, parts in self._parts.items():
            if not parts:
                continue
            columns = [np.concatenate(c) for c in zip(*parts)]
            group, dataset = columns[0], columns[1]
            if group.size and (group.min() < 0 or group.max() >= self.n_groups):
                raise ValueError(f"group indices must be in [0, {self.n_groups})")
            order = np.argsort(group, kind="stable")
            if kind == "cash":
                term = _CashTerms(group, *columns[2:])
            else:
                term = _WStatTerms(group, *columns[2:])
            term = term.take(order)
            dataset = dataset[order]
            if term.group.size:
                terms.append(_with_segments(term))
                datasets.append(dataset)
        self._terms = terms
        self._datasets = datasets
        # what the iterations evaluate: channels with counts one by one, the empty ones
        # summed per group (linear statistic)
        fast = []
        for term in terms:
            if isinstance(term, _CashTerms):
                empty, threshold = term.n == 0, TRUNCATION_VALUE
            else:
                empty, threshold = (term.n_on == 0) & (term.n_off == 0), 0.0
            if empty.sum() < 64:  # not worth it
                fast.append(term)
                continue
            if not empty.all():
                fast.append(_with_segments(term.take(np.flatnonzero(~empty))))
            fallback = _with_segments(term.take(np.flatnonzero(empty)))
            fast.append(_LinearTerms(fallback, self.n_groups, threshold))
        self._fast_terms = fast
        self._parts = {"cash": [], "wstat": []}
        self._final = True
        n = self.n_groups
        has = np.zeros(n, dtype=bool)
        scale = np.zeros(n)
        lower = np.full(n, -np.inf)
        upper = np.full(n, np.inf)
        for term in terms:
            has[term.ids] = True
            np.add.at(scale, term.group, np.abs(term.s))
            if isinstance(term, _CashTerms):
                # open domain where no channel with counts is truncated
                with_counts = term.n > 0
                pos = with_counts & (term.s > 0)
                neg = with_counts & (term.s < 0)
                if np.any(pos):
                    limit = (TRUNCATION_VALUE - term.b[pos]) / term.s[pos]
                    np.maximum.at(lower, term.group[pos], limit)
                if np.any(neg):
                    limit = (TRUNCATION_VALUE - term.b[neg]) / term.s[neg]
                    np.minimum.at(upper, term.group[neg], limit)
        self.has_channels = has
        #: Groups where the source predicts counts (the norm is constrained).
        self.constrained = scale > 0
        self.domain_lower = lower
        self.domain_upper = upper

    # ---------------------------------------------------------- evaluation
    def _check(self):
        if not self._final:
            raise RuntimeError("NormProblem: call finalize() first")

    def _reduce(self, term, values):
        out = np.zeros((self.n_groups,) + values.shape[1:])
        out[term.ids] = np.add.reduceat(values, term.starts, axis=0)
        return out

    def evaluate(self, x, order: int = 2):
        """Statistic (and derivatives up to ``order``) of every group.

        Parameters
        ----------
        x : array (n_groups,) or (n_groups, k)
            Norm values: one or ``k`` per group.
        order : {0, 1, 2}
            Highest derivative.

        Returns
        -------
        tuple of arrays
            ``(f,)``, ``(f, f')`` or ``(f, f', f'')`` with the shape of ``x``.
        """
        self._check()
        x = np.asarray(x, dtype=np.float64)
        flat = x.ndim == 1
        x2 = x[:, None] if flat else x
        totals = [np.zeros(x2.shape) for _ in range(order + 1)]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for term in self._fast_terms:
                if isinstance(term, _LinearTerms):
                    parts = term.evaluate_groups(x2, order, self._reduce)
                else:
                    parts = [self._reduce(term, p) for p in term.evaluate(x2[term.group], order)]
                for total, part in zip(totals, parts):
                    total += part
        if flat:
            totals = [t[:, 0] for t in totals]
        return tuple(totals)

    def value(self, x) -> np.ndarray:
        """Statistic of every group at ``x`` ((n_groups,) or (n_groups, k): a scan)."""
        return self.evaluate(x, order=0)[0]

    def per_dataset(self, x, what: str) -> np.ndarray:
        """Sums per group and dataset, shape (n_groups, n_datasets).

        ``what``: "counts", "npred" (total prediction at norm ``x``, the W-stat
        background profiled) or "npred_excess" (``x * npred_source``).
        """
        self._check()
        x = np.asarray(x, dtype=np.float64)
        n, d = self.n_groups, self.n_datasets
        out = np.zeros(n * d)
        for term, dataset in zip(self._terms, self._datasets):
            xc = x[term.group]
            if what == "counts":
                values = term.n if isinstance(term, _CashTerms) else term.n_on
            elif what == "npred":
                with np.errstate(invalid="ignore"):
                    values = term.npred(xc)
            elif what == "npred_excess":
                values = xc * term.s
            else:
                raise ValueError(f"per_dataset: unknown quantity {what!r}")
            out += np.bincount(term.group * d + dataset, weights=values, minlength=n * d)
        return out.reshape(n, d)


# ---------------------------------------------------------------- solvers
def minimize_norm(
    problem: NormProblem,
    x0=1.0,
    lower=None,
    upper=None,
    xtol: float = 1e-10,
    max_iter: int = 200,
) -> MinimizeResult:
    """Minimise every group's statistic over the norm (bounded or not).

    Parameters
    ----------
    problem : `NormProblem`
        Finalised problem.
    x0 : float or array
        Start values (the estimator's norm value, 1).
    lower, upper : float or array, optional
        Bounds (NaN / None: none).
    xtol : float
        Relative tolerance on the norm (absolute below 1).

    Returns
    -------
    `MinimizeResult`
        ``x`` is NaN and ``success`` False for groups without channels or where
        the source predicts no counts.
    """
    n = problem.n_groups
    x0 = np.broadcast_to(np.asarray(x0, dtype=float), (n,)).copy()
    lo_user = _bound(lower, n, -np.inf)
    hi_user = _bound(upper, n, np.inf)
    a = np.maximum(lo_user, problem.domain_lower)
    b = np.minimum(hi_user, problem.domain_upper)
    valid = problem.has_channels & problem.constrained & (a < b)
    message = np.full(n, "", dtype=object)
    message[~problem.has_channels] = "no fitted channel in this group (masked or no data)"
    unconstrained = problem.has_channels & ~problem.constrained
    message[unconstrained] = (
        "the source predicts no counts in this group (zero exposure or model): "
        "the norm is not constrained"
    )
    empty = problem.has_channels & problem.constrained & ~(a < b)
    for i in np.flatnonzero(empty):
        message[i] = f"empty norm range: [{a[i]:.6g}, {b[i]:.6g}] (bounds and statistic domain)"
    done = ~valid
    x = np.where(valid, x0, np.nan)
    result_x = np.full(n, np.nan)
    # user bounds inside the domain: is the minimum on a bound?
    for bound, closed, sign, label in (
        (a, lo_user >= problem.domain_lower, 1.0, "min"),
        (b, hi_user <= problem.domain_upper, -1.0, "max"),
    ):
        check = valid & ~done & np.isfinite(bound) & closed
        if np.any(check):
            _, g = problem.evaluate(np.where(check, bound, 0.0), order=1)
            at_bound = check & (sign * g >= 0)
            result_x[at_bound] = bound[at_bound]
            done |= at_bound
            for i in np.flatnonzero(at_bound):
                message[i] = f"norm at its bound {label}={bound[i]:.6g}"
    # start strictly inside (a, b)
    inside = (x > a) & (x < b)
    both = np.isfinite(a) & np.isfinite(b)
    with np.errstate(invalid="ignore"):
        x = np.where(inside, x, np.where(both, 0.5 * (a + b), np.nan))
    step = np.maximum(1.0, np.abs(np.nan_to_num(x0)))
    only_a = ~inside & ~both & np.isfinite(a)
    only_b = ~inside & ~both & np.isfinite(b)
    x[only_a] = a[only_a] + step[only_a]
    x[only_b] = b[only_b] - step[only_b]
    x[done] = 0.0
    niter = np.zeros(n, dtype=int)
    active = ~done
    for it in range(max_iter):
        if not np.any(active):
            break
        xe = np.where(active, x, 0.0)
        f, g, h = problem.evaluate(xe)
        niter[active] += 1
        broken = active & (np.isnan(f) | np.isnan(g))  # NaN never heals: stop these groups
        if np.any(broken):
            message[broken] = "the statistic is not finite (NaN in counts, background or exposure)"
            active &= ~broken
        exact = active & (g == 0) & (h > 0)
        up = active & (g > 0)
        down = active & (g <= 0) & ~exact  # g = 0 on a plateau (Cash below zero counts)
        b = np.where(up, x, b)
        a = np.where(down, x, a)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - g / h
        # a step below the float resolution lands on the bracket end: still Newton's
        ok = np.isfinite(newton) & (newton >= a) & (newton <= b) & (h > 0)
        if it >= 60:  # Newton cycling on kinks: bisect
            ok &= False
        bisect = np.isfinite(a) & np.isfinite(b)
        with np.errstate(invalid="ignore"):
            trial = np.where(bisect, 0.5 * (a + b), np.nan)
        grow_up = ~ok & ~bisect & np.isfinite(a)
        grow_down = ~ok & ~bisect & np.isfinite(b)
        trial[grow_up] = x[grow_up] + step[grow_up]
        trial[grow_down] = x[grow_down] - step[grow_down]
        step[grow_up | grow_down] *= 2.0
        new = np.where(ok, newton, trial)
        scale = xtol * np.maximum(np.abs(x), 1.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            decrease = np.where(h > 0, g * g / h, np.inf)
        small_step = (np.abs(new - x) <= scale) & (decrease <= 1e-9 * np.maximum(1.0, np.abs(f)))
        narrow = (b - a) <= scale
        # at a flat plateau (g = 0, h = 0) the bracket alone decides
        finished = active & (exact | (ok & small_step) | narrow | (new == x))
        finished |= active & ~np.isfinite(new)
        runaway = active & (np.abs(new) > _BIG)
        result_x[finished & ~runaway] = np.where(ok, new, x)[finished & ~runaway]
        message[runaway] = f"the norm runs away (|norm| > {_BIG:.0e}): the statistic has no minimum"
        x = np.where(active, new, x)
        active &= ~finished & ~runaway
    message[active] = f"no convergence after {max_iter} iterations"
    success = valid & np.isfinite(result_x)
    lost = valid & ~success & (message == "")
    message[lost] = "the best-fit norm is not finite (NaN or inf in the data or predictions?)"
    xf = np.where(success, result_x, 0.0)
    f, g, h = problem.evaluate(xf)
    bad_stat = success & ~np.isfinite(f)
    message[bad_stat] = (
        "the statistic is not finite at the best fit (NaN or inf in counts, background or exposure)"
    )
    success = success & ~bad_stat
    nan = ~success
    f[nan] = np.nan
    g[nan] = np.nan
    h[nan] = np.nan
    result_x[nan] = np.nan
    return MinimizeResult(result_x, f, g, h, success, niter, message.astype(str))


def _bound(value, n, default):
    if value is None:
        return np.full(n, default)
    array = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
    array[np.isnan(array)] = default
    return array


def find_norm_crossing(
    problem: NormProblem,
    best: MinimizeResult,
    delta,
    direction: float,
    limit=None,
    xtol: float = 1e-10,
    max_iter: int = 200,
) -> np.ndarray:
    """Where the statistic has risen by ``delta`` above the minimum, on one side.

    Parameters
    ----------
    problem : `NormProblem`
    best : `MinimizeResult`
        The minimum of every group.
    delta : float or array (n_groups,)
        Rise of the statistic (``n_sigma**2``).
    direction : {+1, -1}
        Search above (errors ``errp``, upper limits) or below (``errn``) the minimum.
    limit : float or array, optional
        Bound of the search (the norm's max or min); no root beyond it gives NaN.

    Returns
    -------
    x : array (n_groups,)
        The crossing norms (NaN where there is none before ``limit``).
    """
    delta = np.broadcast_to(np.asarray(delta, dtype=float), (problem.n_groups,))
    limit = _bound(limit, problem.n_groups, np.inf * float(direction))
    return find_norm_crossings(
        problem, best, delta[:, None], [direction], limit[:, None], xtol, max_iter
    )[:, 0]


def find_norm_crossings(
    problem: NormProblem,
    best: MinimizeResult,
    deltas,
    directions,
    limits=None,
    xtol: float = 1e-10,
    max_iter: int = 200,
) -> np.ndarray:
    """Several crossings per group at once (errn, errp and the upper limit together).

    Parameters
    ----------
    deltas : array (k,) or (n_groups, k)
        Rise of the statistic for each of the ``k`` searches.
    directions : array (k,)
        +1 (above the minimum) or -1 (below) for each search.
    limits : array (k,) or (n_groups, k), optional
        Bound of each search (NaN: none).

    Returns
    -------
    x : array (n_groups, k)
        The crossing norms (NaN where there is none).
    """
    n = problem.n_groups
    d = np.asarray(directions, dtype=float).reshape(1, -1)
    k = d.shape[1]
    shape = (n, k)
    delta = np.broadcast_to(np.asarray(deltas, dtype=float), shape)
    x_best = best.x[:, None]
    target = best.f[:, None] + delta
    valid = np.broadcast_to(best.success[:, None], shape).copy()
    domain = np.where(d > 0, problem.domain_upper[:, None], problem.domain_lower[:, None])
    if limits is None:
        user = np.broadcast_to(np.inf * d, shape).copy()
    else:
        user = np.broadcast_to(np.asarray(limits, dtype=float), shape).copy()
        user = np.where(np.isnan(user), np.inf * d, user)
    # t: distance from the minimum; the root is in (0, t_max)
    with np.errstate(invalid="ignore"):
        t_user = d * (user - x_best)
        t_domain = d * (domain - x_best)
    closed = t_user <= t_domain  # a user bound: the root may not exist before it
    t_max = np.where(closed, t_user, t_domain)
    valid &= t_max > 0
    result = np.full(shape, np.nan)
    check = valid & closed & np.isfinite(t_max)
    if np.any(check):
        f_lim = problem.value(np.where(check, user, np.nan_to_num(x_best)))
        none = check & (f_lim < target)
        exact = check & (f_lim == target)
        result[exact] = user[exact]
        valid &= ~none & ~exact
    scale = np.where(np.isfinite(best.error), best.error, 1.0)
    scale = np.broadcast_to(np.where(scale > 0, scale, 1.0)[:, None], shape)
    t = np.sqrt(delta) * scale
    t_lo = np.zeros(shape)
    t_hi = t_max.copy()
    bad = ~(t > 0) | ~(t < t_hi)
    t = np.where(bad, np.where(np.isfinite(t_hi), 0.5 * t_hi, scale), t)
    active = valid.copy()
    x0 = np.nan_to_num(x_best)
    t_limit = _BIG * np.maximum(scale, np.abs(x0))
    for it in range(max_iter):
        if not np.any(active):
            break
        x = np.where(active, x0 + d * t, 0.0)
        f, g = problem.evaluate(x, order=1)
        F = f - target
        slope = d * g
        above = active & (F > 0)
        below = active & (F < 0)
        t_hi = np.where(above, t, t_hi)
        t_lo = np.where(below, t, t_lo)
        exact = active & (F == 0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            newton = t - F / slope
            ok = np.isfinite(newton) & (slope > 0) & (newton >= t_lo) & (newton <= t_hi)
            if it >= 60:  # Newton cycling: bisect
                ok &= False
            bounded = np.isfinite(t_hi)
            trial = np.where(bounded, 0.5 * (t_lo + t_hi), np.maximum(3.0 * t, t + scale))
            new = np.where(ok, newton, trial)
            tol = xtol * np.maximum(np.abs(x0 + d * t), 1.0)
            small_f = np.abs(F) <= 1e-9 * np.maximum(1.0, np.abs(target))
            converged = (np.abs(new - t) <= tol) & small_f
            finished = active & (exact | (ok & converged) | ((t_hi - t_lo) <= tol) | (new == t))
            runaway = active & (new > t_limit)
        done = finished & ~runaway
        value = x0 + d * np.where(exact, t, np.where(ok, new, t))
        result[done] = value[done]
        t = np.where(active, new, t)
        active &= ~finished & ~runaway
    return result
