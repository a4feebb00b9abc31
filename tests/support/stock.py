"""A stock Kafka 3.9 broker server.properties with a CP 3.x Proactive Support section."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STOCK = (FIXTURES / "server.properties").read_bytes()
