"""Drawing SMAX battles recorded by ``rlbook.envs.smax.render.record_episode``: units as circles with health
bars, shots as lines. ``animate_episode`` returns a matplotlib ``FuncAnimation`` (``.to_jshtml()`` shows it
inline; ``save_animation`` writes a GIF only when asked); ``frame_strip`` draws a static row of frames.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.patches import Circle, Rectangle

from rlbook.envs.smax.units import UNIT_SHORTHANDS


def draw_frame(ax, rec, i: int, title: bool = True, zoom: bool = True):
    """Draw tick ``i`` of a recording on ``ax`` (``zoom``: crop to the units of the whole episode)."""
    ax.clear()
    w, h = rec["map_size"]
    if zoom:
        lo, hi = rec["pos"].min(axis=(0, 1)) - 2.0, rec["pos"].max(axis=(0, 1)) + 2.0
        c, half = (lo + hi) / 2, max(hi - lo) / 2
        ax.set_xlim(max(0, c[0] - half), min(w, c[0] + half))
        ax.set_ylim(max(0, c[1] - half), min(h, c[1] + half))
    else:
        ax.set_xlim(0, w)
        ax.set_ylim(0, h)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    pos, hp, alive = rec["pos"][i], rec["health"][i], rec["alive"][i]
    prev_hp = rec["health"][i - 1] if i > 0 else rec["max_health"]
    na = rec["num_allies"]
    for u in range(len(pos)):
        if not alive[u]:
            continue
        t = rec["target"][i][u]
        if t != u and prev_hp[t] > hp[t]:  # the target lost health this tick: draw the shot
            ax.plot(
                [pos[u][0], pos[t][0]],
                [pos[u][1], pos[t][1]],
                color="tab:blue" if u < na else "tab:red",
                lw=0.8,
            )
    for u in range(len(pos)):
        if not alive[u]:
            continue
        r = rec["radius"][u]
        ax.add_patch(Circle(pos[u], r, color="tab:blue" if u < na else "tab:red", alpha=0.85))
        ax.text(*pos[u], UNIT_SHORTHANDS[rec["types"][u]], ha="center", va="center", fontsize=6,
                color="white")  # fmt: skip
        frac = hp[u] / rec["max_health"][u]
        ax.add_patch(Rectangle((pos[u][0] - 0.6, pos[u][1] + r + 0.2), 1.2, 0.25, color="0.8"))
        ax.add_patch(Rectangle((pos[u][0] - 0.6, pos[u][1] + r + 0.2), 1.2 * frac, 0.25,
                               color="tab:green"))  # fmt: skip
    if title:
        k = rec["ticks_per_step"]
        ret = rec["reward"][: i // k + 1].sum()
        ax.set_title(f"step {i // k} tick {i % k}  return {ret:.2f}", fontsize=8)


def animate_episode(rec, every: int = 2, max_steps: int = 40, size: float = 4.0, dpi: int = 72):
    """A ``FuncAnimation`` of the recording (every ``every``-th tick, at most ``max_steps`` env steps)."""
    n = min(len(rec["pos"]), max_steps * rec["ticks_per_step"])
    frames = list(range(0, n, every))
    fig, ax = plt.subplots(figsize=(size, size), dpi=dpi)
    anim = FuncAnimation(fig, lambda i: draw_frame(ax, rec, i), frames=frames, interval=60)
    plt.close(fig)
    return anim


def frame_strip(rec, num_frames: int = 6, size: float = 2.2):
    """A static row of ``num_frames`` evenly spaced frames (the figure a test can compare)."""
    idx = np.linspace(0, len(rec["pos"]) - 1, num_frames).astype(int)
    fig, axes = plt.subplots(1, num_frames, figsize=(size * num_frames, size))
    for ax, i in zip(axes, idx, strict=True):
        draw_frame(ax, rec, int(i))
    fig.tight_layout()
    return fig


def save_animation(anim, path: str, fps: int = 15) -> None:
    """Write a GIF (pillow) or MP4 (ffmpeg) - only when asked; the book shows ``to_jshtml`` inline."""
    writer = "pillow" if str(path).endswith(".gif") else "ffmpeg"
    anim.save(path, writer=writer, fps=fps)
