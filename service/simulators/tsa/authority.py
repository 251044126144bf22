"""A time-stamping authority of our own (RFC 3161), with asn1crypto and cryptography:
its own root CA and a TSA certificate with the critical timeStamping EKU, answering a
TimeStampReq with a TimeStampResp signed over SHA-256 (ESS signing-certificate-v2, as
`openssl ts -verify` requires).

    authority = Authority.create()                       # fresh keys, valid for a year
    authority.reply(request_der)                         # → TimeStampResp DER
    authority.root_pem, authority.tsa_pem                # for DISCLOSURE_TSA_ROOTS_FILE

Faults for tests: `eku_critical=False`, `wrong_nonce=True`, `valid` (the TSA certificate's
window), `clock` (the genTime).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

POLICY = "1.3.6.1.4.1.4146.2.3"  # any policy OID will do for a simulator
_serials = itertools.count(1)


def _now() -> datetime:
    return datetime.now(UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Disclosure TSA simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(
    subject: x509.Name, key: rsa.RSAPrivateKey, issuer: tuple[x509.Name, rsa.RSAPrivateKey],
    valid: tuple[datetime, datetime], *, ca: bool, eku_critical: bool = True,
) -> x509.Certificate:  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0])
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
        builder = builder.add_extension(eku, critical=eku_critical)
    return builder.sign(issuer[1], hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Authority:
    root: x509.Certificate
    tsa: x509.Certificate
    tsa_key: rsa.RSAPrivateKey
    clock: Callable[[], datetime] = _now
    wrong_nonce: bool = False
    served: list[bytes] = field(default_factory=list)

    @classmethod
    def create(
        cls, *, eku_critical: bool = True, valid: tuple[datetime, datetime] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> Authority:  # fmt: skip
        now = _now()
        window = valid or (now - timedelta(days=1), now + timedelta(days=365))
        root_key, tsa_key = _key(), _key()
        root_name = _name("Disclosure TSA simulator root")
        root_window = (min(window[0], now) - timedelta(days=1), now + timedelta(days=3650))
        root = _certificate(root_name, root_key, (root_name, root_key), root_window, ca=True)
        tsa = _certificate(
            _name("Disclosure TSA simulator"), tsa_key, (root_name, root_key), window,
            ca=False, eku_critical=eku_critical,
        )  # fmt: skip
        return cls(root, tsa, tsa_key, clock)

    @classmethod
    def kept_in(cls, directory: Path) -> Authority:
        """The authority whose keys lie in `directory` (made there the first time), so
        that development's tokens keep verifying across restarts against `root.pem`.
        Several processes share a data directory (serve, workers, tick): the first to
        move its complete directory into place wins, the others read that one."""
        files = [directory / n for n in KEPT]
        if not all(f.exists() for f in files):
            _make_in_place(cls.create(valid=_ten_years()), directory)
        loaded = serialization.load_pem_private_key(files[2].read_bytes(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        root, tsa = (x509.load_pem_x509_certificate(f.read_bytes()) for f in files[:2])
        return cls(root, tsa, loaded)

    def kept(self) -> tuple[bytes, bytes, bytes]:
        """root.pem, tsa.pem and tsa.key, as `kept_in` keeps them."""
        key = self.tsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return self.root_pem, self.tsa_pem, key

    @property
    def root_pem(self) -> bytes:
        return _pem(self.root)

    @property
    def tsa_pem(self) -> bytes:
        return _pem(self.tsa)

    def reply(self, request_der: bytes) -> bytes:
        """The TimeStampResp to a TimeStampReq; `ValueError` if it is not one."""
        request = tsp.TimeStampReq.load(request_der)
        request.native  # noqa: B018 — parses the whole request: a malformed one raises here
        nonce = request["nonce"].native
        if nonce is not None and self.wrong_nonce:
            nonce += 1
        info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": POLICY,
                "message_imprint": request["message_imprint"],
                "serial_number": next(_serials),
                "gen_time": self.clock().astimezone(UTC),
                "nonce": nonce,
            }
        )
        token = self._signed(info, certificates=bool(request["cert_req"].native))
        response = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
        return bytes(response.dump())

    def _signed(self, info: tsp.TSTInfo, *, certificates: bool) -> cms.ContentInfo:
        content = info.dump()
        tsa_der = self.tsa.public_bytes(serialization.Encoding.DER)
        signed_attrs = cms.CMSAttributes([
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [
                {"certs": [{"cert_hash": hashlib.sha256(tsa_der).digest()}]}
            ]}),
        ])  # fmt: skip
        signature = self.tsa_key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
        cert = asn1_x509.Certificate.load(tsa_der)
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": cert.issuer, "serial_number": cert.serial_number,
            }}),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
            "signature": signature,
        })  # fmt: skip
        signed = {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(content)},
            "signer_infos": [signer],
        }  # fmt: skip
        if certificates:
            signed["certificates"] = [cert]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)})


KEPT = ("root.pem", "tsa.pem", "tsa.key")


def _ten_years() -> tuple[datetime, datetime]:
    return _now() - timedelta(days=1), _now() + timedelta(days=3650)


def _make_in_place(authority: Authority, directory: Path) -> None:
    """Write the keys in a directory of this process's own, then rename it into place:
    a rename is atomic, so no process ever reads another's half-written key, and two
    processes never end up with two roots."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    own = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    for name, data in zip(KEPT, authority.kept(), strict=True):
        mode = 0o600 if name.endswith(".key") else 0o644
        descriptor = os.open(own / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
    try:
        os.rename(own, directory)  # replaces an empty directory, not a full one
    except OSError:
        shutil.rmtree(own, ignore_errors=True)  # another process was first: use its keys
