"""The example bundle and the script that makes it."""
