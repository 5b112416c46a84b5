"""Framework integrations (FastAPI, Flask, Django); each imports its framework lazily."""
