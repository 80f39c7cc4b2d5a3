"""A Jupyter kernel in which every cell is one turn of a Claude Code session."""

__version__ = "0.1.0"
