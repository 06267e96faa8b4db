"""Training and comparison: the ``noma-split`` command and its building blocks."""
