"""Checking a timestamp token offline, as `verify` does: each fault is its own finding
with a stable code and a message in Chinese and English; a TSA certificate that expired
after the token was made still verifies it (the chain is checked at genTime)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import algos
from asn1crypto import tsp as asn1_tsp
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

from service.domain.proof import TOKEN_PROBLEMS
from service.proof.tokens import check_token, load_roots, new_request
from service.simulators.tsa import Authority

MANIFEST = b"0123abcd  bagit.txt\n4567ef01  bag-info.txt\n89ab2345  manifest-sha256.txt\n"
DIGEST = hashlib.sha256(MANIFEST).digest()


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create()


def _token(authority: Authority) -> tuple[bytes, int]:
    request = new_request(DIGEST)
    return authority.reply(request.der), request.nonce


def test_a_token_from_a_trusted_tsa_verifies_and_says_when_and_who(authority: Authority) -> None:
    token, nonce = _token(authority)

    check = check_token(token, DIGEST, load_roots(authority.root_pem), nonce=nonce)

    assert check.ok and check.facts is not None
    assert abs(check.facts.gen_time - datetime.now(UTC)) < timedelta(minutes=1)
    assert "CN=Disclosure TSA simulator" in check.facts.tsa


def test_a_token_under_a_root_not_trusted_fails_as_untrusted(authority: Authority) -> None:
    token, nonce = _token(authority)
    stranger = Authority.create()

    check = check_token(token, DIGEST, load_roots(stranger.root_pem), nonce=nonce)

    assert check.problem is not None and check.problem.code == "timestamp_untrusted"


def test_a_tampered_tag_manifest_fails_as_an_imprint_mismatch(authority: Authority) -> None:
    token, _ = _token(authority)
    tampered = hashlib.sha256(MANIFEST.replace(b"0123", b"9999")).digest()

    check = check_token(token, tampered, load_roots(authority.root_pem))

    assert check.problem is not None and check.problem.code == "timestamp_imprint_mismatch"


def test_a_tsa_certificate_whose_timestamping_eku_is_not_critical_fails() -> None:
    lax = Authority.create(eku_critical=False)
    token, nonce = _token(lax)

    check = check_token(token, DIGEST, load_roots(lax.root_pem), nonce=nonce)

    assert check.problem is not None and check.problem.code == "timestamp_eku_invalid"


def test_a_token_with_another_nonce_than_asked_for_fails(authority: Authority) -> None:
    token, nonce = _token(authority)

    check = check_token(token, DIGEST, load_roots(authority.root_pem), nonce=nonce + 1)

    assert check.problem is not None and check.problem.code == "timestamp_nonce_mismatch"


def test_a_token_whose_imprint_names_another_hash_fails_though_its_bytes_match(
    authority: Authority,
) -> None:
    """A TSA that labels our 32 bytes as SM3 or SHA3-256 does not vouch for a SHA-256."""
    request = asn1_tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha3_256"}, "hashed_message": DIGEST},
        "nonce": 5,
        "cert_req": True,
    })  # fmt: skip
    token = authority.reply(request.dump())

    check = check_token(token, DIGEST, load_roots(authority.root_pem), nonce=5)

    assert check.problem is not None and check.problem.code == "timestamp_hash_algorithm"
    assert "SHA-256" in check.problem.message_zh


def test_a_token_made_while_its_tsa_certificate_was_valid_verifies_after_it_expired() -> None:
    now = datetime.now(UTC)
    made_at = now - timedelta(days=30)
    expired = Authority.create(
        valid=(now - timedelta(days=60), now - timedelta(days=10)), clock=lambda: made_at
    )
    token, nonce = _token(expired)

    check = check_token(token, DIGEST, load_roots(expired.root_pem), nonce=nonce)

    assert (
        check.ok
        and check.facts is not None
        and check.facts.gen_time == made_at.replace(microsecond=0)
    )


def test_a_token_made_after_its_tsa_certificate_expired_fails() -> None:
    now = datetime.now(UTC)
    expired = Authority.create(valid=(now - timedelta(days=60), now - timedelta(days=10)))
    token, _ = _token(expired)

    check = check_token(token, DIGEST, load_roots(expired.root_pem))

    assert check.problem is not None and check.problem.code == "timestamp_untrusted"


def _relabelled_sm2(token: bytes) -> bytes:
    """The token as an SM2 TSA (GB/T 35276) would label it: SM2 with SM3."""
    response = asn1_tsp.TimeStampResp.load(token)
    signer = response["time_stamp_token"]["content"]["signer_infos"][0]
    signer["signature_algorithm"] = algos.SignedDigestAlgorithm(
        {"algorithm": "1.2.156.10197.1.501"}
    )
    return bytes(response.dump(force=True))


def test_an_sm2_signed_token_is_reported_as_unsupported_not_crashed_on(
    authority: Authority,
) -> None:
    token, _ = _token(authority)

    check = check_token(_relabelled_sm2(token), DIGEST, load_roots(authority.root_pem))

    assert check.problem is not None and check.problem.code == "timestamp_sm2_unsupported"
    assert "SM2" in check.problem.message_zh and "SM2" in check.problem.message_en


def test_bytes_that_are_no_token_are_malformed_and_every_problem_speaks_both_languages() -> None:
    check = check_token(b"not a token", DIGEST, [])

    assert check.problem is not None and check.problem.code == "timestamp_malformed"
    for problem in TOKEN_PROBLEMS.values():
        assert problem.message_zh and problem.message_en and problem.code.startswith("timestamp_")


def test_a_request_is_built_from_the_digest_alone_as_rfc3161_client_builds_it() -> None:
    request = new_request(DIGEST)

    same = TimestampRequestBuilder(hash_algorithm=HashAlgorithm.SHA256).data(MANIFEST).build()
    assert request.der == _with_nonce(same.as_bytes(), request.nonce)
    parsed = asn1_tsp.TimeStampReq.load(request.der)
    assert parsed["message_imprint"]["hashed_message"].native == DIGEST
    assert parsed["cert_req"].native is True and parsed["nonce"].native == request.nonce
    with pytest.raises(ValueError, match="32 bytes"):
        new_request(DIGEST[:31])


def _with_nonce(der: bytes, nonce: int) -> bytes:
    request = asn1_tsp.TimeStampReq.load(der)
    request["nonce"] = nonce
    return bytes(asn1_tsp.TimeStampReq.load(request.dump(force=True)).dump())
