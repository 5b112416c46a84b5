"""Framework integrations; each module imports its framework itself, lazily for hookseal."""
