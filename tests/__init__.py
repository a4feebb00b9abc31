"""The test suite: unit/, integration/ (real servers), tui/; shared helpers in support/."""
