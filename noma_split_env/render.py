"""``render_mode="rgb_array"``: a picture of the cell (matplotlib, Agg, no window).

The base station sits at the centre of the cell disc. Each user is a dot coloured by
its uplink subchannel (grey when it runs everything locally), with a line to the BS
whose width grows with its uplink rate, and a label ``s/L`` with its split point.
"""

from __future__ import annotations

import numpy as np

from noma_split_env.evaluate import Outcome
from noma_split_env.slot import Slot

__all__ = ["render_cell"]

FIGURE_PX = 480


def render_cell(slot: Slot, positions_m: np.ndarray, outcome: Outcome | None) -> np.ndarray:
    """``[H, W, 3]`` uint8 picture of ``slot`` with the decision of ``outcome``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sc = slot.scenario
    fig = Figure(figsize=(FIGURE_PX / 100, FIGURE_PX / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9))
    r = sc.cell_radius_m
    ax.add_patch(_circle((0, 0), r, fill=False, color="0.6"))
    ax.plot([0], [0], marker="^", markersize=12, color="k")
    colours = _colours(sc.num_subchannels)
    names = [p.name for p in slot.profiles]
    for k in range(sc.num_users):
        x, y = positions_m[k]
        if outcome is None:
            ax.plot([x], [y], "o", color="0.3")
            continue
        s = int(outcome.allocation.split[k])
        active = s < slot.num_layers[k]
        colour = colours[int(outcome.allocation.ul_subchannel[k])] if active else "0.6"
        if active:
            width = 0.5 + 2.5 * min(outcome.ul_rate[k] / 50e6, 1.0)
            ax.plot([0, x], [0, y], color=colour, linewidth=width, alpha=0.6)
        ax.plot([x], [y], "o", color=colour, markersize=8)
        if sc.num_users <= 16:
            ax.annotate(f"{names[k]} {s}/{slot.num_layers[k]}", (x, y), fontsize=7)
    title = f"{sc.name}: K={sc.num_users}, N={sc.num_subchannels}, {sc.access.upper()}"
    if outcome is not None:
        title += f", cost {outcome.cost:.3f}"
    ax.set_title(title, fontsize=9)
    ax.set_xlim(-1.05 * r, 1.05 * r)
    ax.set_ylim(-1.05 * r, 1.05 * r)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _circle(centre: tuple[float, float], radius: float, **kwargs: object) -> object:
    from matplotlib.patches import Circle

    return Circle(centre, radius, **kwargs)


def _colours(n: int) -> list[tuple[float, ...]]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
