"""The checks a test's ingest runs: no registry, the rules' defaults, documents read in
process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service.destinations import limits_by_destination
from service.domain.filing import Category, Destination
from service.domain.org import OrgRegistry
from service.reading.pool import InProcessReader
from service.usecases.checking import Checks
from service.validation import DocumentLimits, ValidationRules


def in_process_reader() -> InProcessReader:
    return InProcessReader(DocumentLimits())


def checks_for(routes: Mapping[Category, Sequence[Destination]]) -> Checks:
    return Checks(
        registry=OrgRegistry(),
        routes=routes,
        rules=ValidationRules(),
        reader=in_process_reader(),
        require_registered_body=False,
        limits=limits_by_destination(),
    )
