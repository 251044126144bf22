"""The HTTP API (FastAPI): thin routes that parse, call one use case and render."""
