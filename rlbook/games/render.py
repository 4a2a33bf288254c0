"""Pixels for the grid games' frames (CoinGame, IPDitM): a light grid and filled cells, in numpy."""

from __future__ import annotations

import numpy as np


def grid_image(size: int, cell: int, background, line: int) -> np.ndarray:
    """uint8[size*cell, size*cell, 3]: ``background`` with grid lines of grey level ``line``."""
    img = np.full((size * cell, size * cell, 3), background, np.uint8)
    img[::cell, :] = line
    img[:, ::cell] = line
    return img


def fill_cell(img: np.ndarray, pos, cell: int, colour, margin: int) -> None:
    """Paint grid cell ``pos`` = (row, col) of ``img`` in place, ``margin`` pixels in from each side."""
    r, c = int(pos[0]), int(pos[1])
    img[
        r * cell + margin : (r + 1) * cell - margin, c * cell + margin : (c + 1) * cell - margin
    ] = colour
