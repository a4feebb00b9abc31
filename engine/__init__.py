"""The headless core of ps-console: ZooKeeper, Kafka, HTTP, files and zips.

Nothing in this package imports Textual or the `tui` package; an import-linter contract in
pyproject.toml keeps it that way.
"""


def __getattr__(name: str) -> str:
    # `engine.__version__` is read on first use: importlib.metadata costs tens of
    # milliseconds at start, and the console's first frame does not need it.
    if name != "__version__":
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("ps-console")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+source"
    globals()["__version__"] = found
    return found
