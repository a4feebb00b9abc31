"""Reading reports back: the topic reader, the latest report per broker, bundles."""
