"""In-memory fakes of our own ports, for unit tests. Each passes its port's contract
suite: the archive store's (tests/integration/test_archive_store_contract.py) and the
catalog's (tests/integration/test_catalog.py)."""

from tests.fakes.archive import InMemoryStore
from tests.fakes.catalog import MemoryCatalog
from tests.fakes.delivery import RecordingJournal, ScriptedPortal, Sleeps

__all__ = ["InMemoryStore", "MemoryCatalog", "RecordingJournal", "ScriptedPortal", "Sleeps"]
