"""Matplotlib plots of WCS maps (imported lazily; matplotlib is only loaded here).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from fluxfit.maps import WcsNDMap
>>> m = WcsNDMap.create(npix=(20, 10), binsz=0.1, frame="galactic")
>>> ax = m.plot(stretch="sqrt", add_cbar=True)
>>> type(ax).__name__
'WCSAxes'
"""

from __future__ import annotations

import numpy as np

from fluxfit.errors import DatasetError

__all__ = ["plot_image", "plot_mask", "plot_grid"]

_STRETCHES = ("linear", "sqrt", "log", "asinh", "power", "sinh", "squared")


def _default_axes(m, ax, fig=None):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    fig = plt.gcf() if fig is None else fig
    if m.geom.projection in ("AIT", "MOL", "HPX"):
        from astropy.visualization.wcsaxes.frame import EllipticalFrame

        return fig.add_subplot(1, 1, 1, projection=m.geom.wcs, frame_class=EllipticalFrame)
    return fig.add_subplot(1, 1, 1, projection=m.geom.wcs)


def _format_axes(ax, frame):
    try:
        if frame == "galactic":
            ax.coords["glon"].set_axislabel("Galactic Longitude")
            ax.coords["glat"].set_axislabel("Galactic Latitude")
        else:
            ax.coords["ra"].set_axislabel("Right Ascension")
            ax.coords["dec"].set_axislabel("Declination")
    except (KeyError, AttributeError):
        pass
    return ax


def _image_data(m):
    if not m.geom.is_flat:
        raise DatasetError(
            f"Only maps with flat non-spatial axes can be plotted as an image, got shape "
            f"{m.data.shape}; use plot_grid() or slice the map"
        )
    return np.asarray(m.data).reshape(m.data.shape[-2:]).astype(float)


def plot_image(
    m, ax=None, fig=None, add_cbar=False, stretch="linear", kwargs_colorbar=None, **kwargs
):
    """Plot a single-plane WCS map with WCSAxes.

    Parameters
    ----------
    m : `~fluxfit.maps.WcsNDMap`
        Map with flat non-spatial axes.
    ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
        Axes; default new WCS axes on the current figure.
    fig : `~matplotlib.figure.Figure`, optional
    add_cbar : bool
        Add a colour bar labelled with the map unit.
    stretch : {"linear", "sqrt", "log", "asinh", ...}
        Colour stretch (`astropy.visualization.simple_norm`).
    kwargs_colorbar : dict, optional
        Passed to ``fig.colorbar``.
    **kwargs
        Passed to ``ax.imshow`` (``vmin``/``vmax`` set the stretch limits); defaults
        ``cmap="afmhot"``, ``origin="lower"``, ``interpolation="nearest"``.

    Returns
    -------
    ax : `~astropy.visualization.wcsaxes.WCSAxes`
    """
    import matplotlib.pyplot as plt
    from astropy.visualization import simple_norm

    if stretch not in _STRETCHES:
        raise DatasetError(f"Invalid stretch {stretch!r}: use one of {_STRETCHES}")
    data = _image_data(m)
    ax = _default_axes(m, ax, fig)
    fig = ax.figure if fig is None else fig
    kwargs.setdefault("interpolation", "nearest")
    kwargs.setdefault("origin", "lower")
    kwargs.setdefault("cmap", "afmhot")
    if m.is_mask:
        kwargs.setdefault("vmin", 0)
        kwargs.setdefault("vmax", 1)
    finite = np.isfinite(data)
    if finite.any() and "norm" not in kwargs:
        vmin, vmax = kwargs.pop("vmin", None), kwargs.pop("vmax", None)
        values = data[finite]
        if stretch in ("sqrt", "log") and vmin is None:
            vmin = max(float(values.min()), 0.0)
        kwargs["norm"] = simple_norm(values, stretch, vmin=vmin, vmax=vmax)
    image = ax.imshow(data, **kwargs)
    if add_cbar:
        kwargs_colorbar = dict(kwargs_colorbar or {})
        kwargs_colorbar.setdefault("label", str(m.unit))
        fig.colorbar(image, ax=ax, **kwargs_colorbar)
    _format_axes(ax, m.geom.frame)
    ax.autoscale(enable=False)
    plt.sca(ax)
    return ax


def plot_mask(m, ax=None, **kwargs):
    """Shade the True pixels of a boolean single-plane map (``contourf``)."""
    if not m.is_mask:
        raise DatasetError("plot_mask needs a boolean map")
    data = _image_data(m)
    ax = _default_axes(m, ax)
    kwargs.setdefault("alpha", 0.5)
    kwargs.setdefault("colors", "w")
    ax.contourf(data, levels=[0, 0.5], **kwargs)
    _format_axes(ax, m.geom.frame)
    ax.autoscale(enable=False)
    return ax


def plot_grid(m, figsize=None, ncols=3, **kwargs):
    """One WCS subplot per image plane of a map with one non-flat axis.

    Returns
    -------
    axes : `~numpy.ndarray` of `~astropy.visualization.wcsaxes.WCSAxes`
    """
    import matplotlib.pyplot as plt

    axes_non_flat = [ax for ax in m.geom.axes if ax.nbin > 1]
    if len(axes_non_flat) != 1:
        raise DatasetError(f"plot_grid needs exactly one non-flat axis, got {m.geom.axes.names}")
    axis = axes_non_flat[0]
    nrows = int(np.ceil(axis.nbin / ncols))
    if figsize is None:
        figsize = (ncols * 4, nrows * 3)
    fig, axes = plt.subplots(
        nrows=nrows,
        ncols=ncols,
        subplot_kw={"projection": m.geom.wcs},
        figsize=figsize,
        gridspec_kw={"hspace": 0.3, "wspace": 0.3},
    )
    axes = np.atleast_1d(axes).ravel()
    for idx, ax in enumerate(axes):
        if idx >= axis.nbin:
            ax.set_visible(False)
            continue
        image = m.slice_by_idx({axis.name: slice(idx, idx + 1)})
        plot_image(image, ax=ax, fig=fig, **dict(kwargs))
        lo, hi = axis.edges_min[idx], axis.edges_max[idx]
        ax.set_title(f"{axis.name}: {lo:.3g} - {hi:.3g}", fontsize=8)
    return axes
