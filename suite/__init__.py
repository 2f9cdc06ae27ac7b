"""battle: a benchmark suite for Python servers that fetch one document from MongoDB."""

from pathlib import Path

__version__ = "0.1.0"

REPO_ROOT = Path(__file__).resolve().parent.parent
