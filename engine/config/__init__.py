"""A broker's server.properties: the Java-exact parser and the Proactive Support settings."""
