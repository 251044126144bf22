"""The `TimestampAuthority` port: stamp one archived file, RFC 3161, by its SHA-256 digest
(the file itself may be large; its reader hashes it a chunk at a time).

An adapter answers one of three outcomes and never raises for a remote failure, as a
destination adapter does (service.delivery.port):

    Stamped(response, facts)      the TSA's whole TimeStampResp, checked (nonce, imprint,
                                  chain to the roots at genTime, critical timeStamping EKU)
    RetryLater(code, message)     the TSA is down or busy: the stamp job is rescheduled
    Failed(code, message)         no retry helps (a token that does not verify, SM2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from service.delivery.port import Failed, RetryLater
from service.domain.proof import TokenFacts


@dataclass(frozen=True)
class Stamped:
    response: bytes
    facts: TokenFacts


StampOutcome = Stamped | RetryLater | Failed


class TimestampAuthority(Protocol):
    def stamp(self, digest: bytes) -> StampOutcome:
        """Stamp the file whose SHA-256 is `digest` (32 bytes)."""
        ...

    def describe(self) -> str:
        """Where the TSA is, for logs and the catalog (no credentials)."""
        ...
