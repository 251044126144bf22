"""RFC 3161 requests and token checks, offline: no network, no archive.

    request = new_request(sha256_digest)            # SHA-256, a nonce, certReq
    check = check_token(response_der, sha256_digest, roots, nonce=request.nonce)
    check.ok, check.facts.gen_time, check.problem.code

The request is built from the digest (asn1crypto), not from the file: rfc3161-client's
builder hashes the whole message itself, and a capture's WARC may be large; the stamped
file is hashed a chunk at a time by whoever reads it. The chain is verified at the token's own genTime (rfc3161-client passes it to the PKCS#7
verification), so a TSA certificate that has since expired still verifies a token made
while it was valid. SM2-signed tokens (GB/T 35276) are reported, not verified.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from rfc3161_client import (
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from service.domain.proof import TokenCheck, TokenFacts

SHA256_SIZE = 32
SHA256_OID = "2.16.840.1.101.3.4.2.1"
SM_OID_PREFIX = "1.2.156.10197."  # the Chinese commercial cryptography arc (SM2, SM3)
_PROBLEM_OF_MESSAGE = (
    ("PKIStatus is not GRANTED", "timestamp_not_granted"),
    ("Error while verifying certificates", "timestamp_untrusted"),
    ("Nonce mismatch", "timestamp_nonce_mismatch"),
    ("EKU", "timestamp_eku_invalid"),
    ("Mismatch between messages", "timestamp_imprint_mismatch"),
)


@dataclass(frozen=True)
class StampRequest:
    der: bytes
    nonce: int


def new_request(digest: bytes) -> StampRequest:
    """A TimeStampReq (RFC 3161 §2.4.1) over a file's SHA-256 `digest`, with a fresh
    63-bit nonce, asking for the TSA's certificate (certReq) so the token carries it —
    byte for byte what rfc3161-client's builder makes from the file itself."""
    if len(digest) != SHA256_SIZE:
        raise ValueError(f"a SHA-256 digest is {SHA256_SIZE} bytes, not {len(digest)}")
    nonce = secrets.randbits(63)
    request = asn1_tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "nonce": nonce,
        "cert_req": True,
    })  # fmt: skip
    return StampRequest(request.dump(), nonce)


def load_roots(pem: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem)


def check_token(
    response: bytes, digest: bytes, roots: Sequence[x509.Certificate], *, nonce: int | None = None
) -> TokenCheck:
    """Check a TimeStampResp against the SHA-256 `digest` of the stamped file and the
    trusted `roots` (and the `nonce` asked for, when known)."""
    if _signed_with_sm2(response):
        return TokenCheck.failed("timestamp_sm2_unsupported")
    try:
        decoded = decode_timestamp_response(response)
        facts = _facts(decoded)
    except (ValueError, TypeError):
        return TokenCheck.failed("timestamp_malformed")
    if not roots:
        return TokenCheck.failed("timestamp_no_roots", facts)
    if decoded.tst_info.message_imprint.hash_algorithm.dotted_string != SHA256_OID:
        # rfc3161-client compares the imprint's bytes only: a TSA that named another
        # 32-byte hash (SM3, SHA3-256) would otherwise vouch for our SHA-256.
        return TokenCheck.failed("timestamp_hash_algorithm", facts)
    if not _timestamping_eku(decoded):
        return TokenCheck.failed("timestamp_eku_invalid", facts)
    builder = VerifierBuilder(roots=list(roots), nonce=nonce)
    try:
        builder.build().verify(decoded, digest)
    except (VerificationError, ValueError) as exc:
        return TokenCheck.failed(_problem_code(str(exc)), facts)
    return TokenCheck(facts)


def _problem_code(message: str) -> str:
    return next(
        (code for text, code in _PROBLEM_OF_MESSAGE if text in message), "timestamp_invalid"
    )


def _facts(decoded: TimeStampResponse) -> TokenFacts:
    info = decoded.tst_info
    return TokenFacts(
        gen_time=info.gen_time.replace(tzinfo=info.gen_time.tzinfo or UTC),
        tsa=_tsa_name(decoded),
        serial_number=format(info.serial_number, "x"),
    )


def _signer_certificate(decoded: TimeStampResponse) -> x509.Certificate | None:
    signers = list(decoded.signed_data.signer_infos)
    for der in decoded.signed_data.certificates:
        cert = x509.load_der_x509_certificate(der)
        if signers and (cert.issuer, cert.serial_number) == (
            signers[0].issuer,
            signers[0].serial_number,
        ):
            return cert
    return None


def _tsa_name(decoded: TimeStampResponse) -> str:
    """The signer certificate's subject (what a reader recognises), else the token's name."""
    cert = _signer_certificate(decoded)
    if cert is not None:
        return cert.subject.rfc4514_string()
    name = decoded.tst_info.name
    return str(name.value) if name is not None else ""


def _timestamping_eku(decoded: TimeStampResponse) -> bool:
    """RFC 3161 §2.3: the TSA certificate's only EKU is timeStamping, marked critical.
    Checked here, before the chain, so that this fault is named as such."""
    cert = _signer_certificate(decoded)
    if cert is None:
        return True  # no certificate in the token: the chain check reports it
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return False
    return eku.critical and ExtendedKeyUsageOID.TIME_STAMPING in eku.value


def _signed_with_sm2(response: bytes) -> bool:
    """Whether the token names an SM2 signature or SM3 digest anywhere it could."""
    try:
        token = asn1_tsp.TimeStampResp.load(response)["time_stamp_token"]
        signed = token["content"]
        oids = [a["algorithm"].dotted for a in signed["digest_algorithms"]]
        for signer in signed["signer_infos"]:
            oids += [
                signer[f]["algorithm"].dotted for f in ("digest_algorithm", "signature_algorithm")
            ]
    except (ValueError, TypeError, KeyError):
        return False
    return any(oid.startswith(SM_OID_PREFIX) for oid in oids)
