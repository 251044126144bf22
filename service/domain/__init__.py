"""The domain core: plain data and pure rules. Imports no I/O library (a test checks)."""
