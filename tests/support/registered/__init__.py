"""A kind of filing and a destination that exist only in tests, each added the way a
real one is: one registry entry and one module (tests/integration/test_registries.py)."""
