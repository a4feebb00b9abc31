"""The Textual console of ps-console. It calls the engine from thread workers only."""
