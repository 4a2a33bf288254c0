"""rlbook: jitted cores behind an interactive JAX textbook of opponent shaping, multi-agent RL and
mixtures of experts in deep RL. Chapters live in ``notebooks/``; this package is what they import."""

__version__ = "0.1.0"
