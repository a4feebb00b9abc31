"""Making and sending reports: wire format, collector, privacy filter, broker tokens,
submitters, spool, agent and the HTTP receiver."""

# The agent's default connection timeout, in seconds: here rather than in the agent's
# module, so that `ps-console agent --help` states it without loading the agent.
AGENT_TIMEOUT = 5.0
