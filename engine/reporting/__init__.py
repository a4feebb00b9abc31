"""Making and sending reports: wire format, collector, privacy filter, broker tokens,
submitters, spool, agent and the HTTP receiver."""
