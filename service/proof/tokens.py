"""RFC 3161 requests and token checks, offline: no network, no archive.

    request = new_request(tag_manifest_bytes)       # SHA-256, a nonce, certReq
    check = check_token(response_der, sha256_digest, roots, nonce=request.nonce)
    check.ok, check.facts.gen_time, check.problem.code

The chain is verified at the token's own genTime (rfc3161-client passes it to the PKCS#7
verification), so a TSA certificate that has since expired still verifies a token made
while it was valid. SM2-signed tokens (GB/T 35276) are reported, not verified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from service.domain.proof import TokenCheck, TokenFacts

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


def new_request(message: bytes) -> StampRequest:
    """A TimeStampReq over the SHA-256 of `message` (rfc3161-client hashes it), with a
    fresh nonce, asking for the TSA's certificate (certReq) so the token carries it."""
    builder = TimestampRequestBuilder(hash_algorithm=HashAlgorithm.SHA256)
    built = builder.data(message).nonce(nonce=True).cert_request(cert_request=True).build()
    assert built.nonce is not None
    return StampRequest(built.as_bytes(), built.nonce)


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
