"""entraform test suite."""
