"""The headless core of ps-console: ZooKeeper, Kafka, HTTP, files and zips.

Nothing in this package imports Textual or the `tui` package; an import-linter contract in
pyproject.toml keeps it that way.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ps-console")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
