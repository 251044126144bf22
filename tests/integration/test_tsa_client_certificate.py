"""A TSA that wants a client certificate (as Chinese trusted TSAs may), served over TLS on
127.0.0.1 with CERT_REQUIRED: with DISCLOSURE_TSA_CLIENT_CERT_FILE and _KEY_FILE a
package is stamped; without them the stamp job is retried with an error that says why;
a key file that is not the certificate's stops the start, naming the files only."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from service.bootstrap import build_container, build_stamper, timestamp_authority
from service.configured import ConfigurationError
from service.domain.access import Principal, Role
from service.domain.metadata import FilingMetadata
from service.settings import Settings
from service.uploads import spool
from service.usecases.ingest import Origin, submit_filing
from service.usecases.stamping import StampRound, stamp_due
from tests.support.bodies import sample_metadata, write_registry
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.tls import TlsFiles, tls_files
from tests.support.tsa import RunningTsa, running_tsa

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tsa(tls: TlsFiles) -> Iterator[RunningTsa]:
    required = {
        "ssl_certfile": str(tls.server_cert), "ssl_keyfile": str(tls.server_key),
        "ssl_ca_certs": str(tls.ca), "ssl_cert_reqs": ssl.CERT_REQUIRED,
    }  # fmt: skip
    with running_tsa(tls=required) as running:
        yield running


def _settings(tmp_path: Path, tsa: RunningTsa, tls: TlsFiles, **more: Any) -> Settings:
    roots = tmp_path / "tsa-roots.pem"
    roots.write_bytes(tsa.authority.root_pem)
    return Settings(
        data_dir=tmp_path / "var", orgs_file=write_registry(tmp_path),
        routes={"rule_of_law_report": ["portal"]},  # type: ignore[dict-item,list-item]
        tsa_url=tsa.url, tsa_roots_file=roots, **{"tsa_ca_file": tls.ca, **more},
    )  # fmt: skip


def _file_and_stamp(settings: Settings) -> tuple[StampRound, list[Any]]:
    container = build_container(settings, clock=FakeClock())
    try:
        upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**8)
        metadata = FilingMetadata.model_validate(sample_metadata())
        filing_id = submit_filing(container.ingest, OPERATOR, metadata, upload, Origin()).filing.id
        with timestamp_authority(settings) as authority:
            stamper = build_stamper(
                settings, container.catalog, container.store, authority,
                clock=container.clock, worker="t",
            )  # fmt: skip
            done = stamp_due(stamper)
        return done, container.catalog.timestamps(filing_id)
    finally:
        container.close()


def test_a_stamp_succeeds_with_the_client_certificate(
    tmp_path: Path, tsa: RunningTsa, tls: TlsFiles
) -> None:
    settings = _settings(
        tmp_path, tsa, tls, tsa_client_cert_file=tls.client_cert, tsa_client_key_file=tls.client_key
    )

    done, [stamp] = _file_and_stamp(settings)

    assert done.stamped == 1
    assert (stamp.status, stamp.last_error) == ("stamped", None)
    assert stamp.token_key and stamp.gen_time is not None and stamp.serial_number


def test_without_the_client_certificate_the_stamp_is_retried_and_says_why(
    tmp_path: Path, tsa: RunningTsa, tls: TlsFiles
) -> None:
    done, [stamp] = _file_and_stamp(_settings(tmp_path, tsa, tls))

    assert (done.stamped, done.retried, done.failed) == (0, 1, 0)
    assert stamp.status == "pending" and stamp.attempts == 1
    assert stamp.last_error is not None
    code, _, said = stamp.last_error.partition(": ")
    # The TLS 1.3 alert "certificate required" may or may not arrive before the close.
    assert code in ("tsa_tls_refused", "tsa_disconnected"), stamp.last_error
    assert said.startswith("the TSA ") and "TLS connection" in said
    assert "it may want a client certificate" in said
    assert "DISCLOSURE_TSA_CLIENT_CERT_FILE" in said


def test_a_tsa_whose_https_certificate_we_cannot_verify_is_named_so_not_as_a_refusal(
    tmp_path: Path, tsa: RunningTsa, tls: TlsFiles
) -> None:
    """Its certificate from a private CA we were not given: the error names our setting
    for that CA, not the client certificate (which the TSA never got to ask for)."""
    settings = _settings(
        tmp_path, tsa, tls, tsa_client_cert_file=tls.client_cert,
        tsa_client_key_file=tls.client_key, tsa_ca_file=None,
    )  # fmt: skip

    done, [stamp] = _file_and_stamp(settings)

    assert (done.stamped, done.retried) == (0, 1) and stamp.last_error is not None
    code, _, said = stamp.last_error.partition(": ")
    assert code == "tsa_certificate_untrusted", stamp.last_error
    assert "DISCLOSURE_TSA_CA_FILE" in said and "client certificate" not in said


def test_a_key_that_is_not_the_certificate_s_stops_the_start_naming_only_the_files(
    tmp_path: Path, tsa: RunningTsa, tls: TlsFiles
) -> None:
    other = tls_files(tmp_path / "other")
    settings = _settings(
        tmp_path,
        tsa,
        tls,
        tsa_client_cert_file=tls.client_cert,
        tsa_client_key_file=other.client_key,
    )

    with pytest.raises(ConfigurationError) as raised, timestamp_authority(settings):
        pass

    said = str(raised.value)
    assert str(tls.client_cert) in said and str(other.client_key) in said
    assert "PRIVATE KEY" not in said and other.client_key.read_text()[40:80] not in said


def _encrypted_copy(key_file: Path, directory: Path, password: bytes) -> Path:
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    encrypted = directory / "client-key-encrypted.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )
    )
    return encrypted


def test_a_key_stored_encrypted_is_used_with_its_password_and_refused_without(
    tmp_path: Path, tsa: RunningTsa, tls: TlsFiles
) -> None:
    """Never a passphrase prompt on the terminal (a start that hangs): the password is a
    setting, and without it the start stops naming the setting."""
    key = _encrypted_copy(tls.client_key, tmp_path, b"s3cret-passphrase")
    given = {"tsa_client_cert_file": tls.client_cert, "tsa_client_key_file": key}

    done, [stamp] = _file_and_stamp(
        _settings(tmp_path, tsa, tls, **given, tsa_client_key_password="s3cret-passphrase")
    )
    assert (stamp.status, done.stamped) == ("stamped", 1)

    with (
        pytest.raises(ConfigurationError) as raised,
        timestamp_authority(_settings(tmp_path, tsa, tls, **given)),
    ):
        pass
    assert "DISCLOSURE_TSA_CLIENT_KEY_PASSWORD" in str(raised.value)
    assert "s3cret" not in str(raised.value)
