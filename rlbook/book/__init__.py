"""Book machinery: notebook helpers (``nb``) and the deterministic executor (``execute``)."""
