from pathlib import Path

import pytest

from tests.support.stock import STOCK


@pytest.fixture
def stock(tmp_path: Path) -> Path:
    """A private copy of the stock server.properties."""
    path = tmp_path / "server.properties"
    path.write_bytes(STOCK)
    return path
