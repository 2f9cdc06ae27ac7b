"""battle: a benchmark suite for Python servers that fetch one document from MongoDB."""

from pathlib import Path

__version__ = "0.1.0"

REPO_ROOT = Path(__file__).resolve().parent.parent

# This machine's loopback address: where the local runtime's servers listen and the load reaches
# them, and a server image's default bind address (host networking; suite.launch).
LOOPBACK = "127.0.0.1"
