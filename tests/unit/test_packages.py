"""Packages: BagIt bags per filing version, written manifest-last, checked on every read."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bagit
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service import __version__
from service.archive.filesystem import FilesystemStore, check_key
from service.archive.fixity import Mismatch
from service.archive.packages import (
    MANIFEST,
    PackageId,
    Packages,
    PayloadFile,
    manifest_text,
    package_prefix,
    parse_manifest,
    payload_name,
)
from service.domain.errors import AlreadyExists, ArchiveUnavailable, FixityMismatch, ObjectMissing
from tests.fakes import InMemoryStore

ORG = "12120000MB1234567X"
PREFIX = package_prefix(ORG, "rule_of_law_report", "2023", "F20240001", 1)
REPORT = "南开区合作交流办 2023年法治政府建设情况报告.docx"
REPORT_BYTES = "2023年，我办深入学习贯彻习近平法治思想。".encode() * 1000
ANNEX = "附件 1 统计表.txt"
ANNEX_BYTES = "主动公开 12 条\n".encode()
METADATA = {"filing_id": "F20240001", "version": 1, "title": "2023年度法治政府建设情况报告"}
BAG_INFO = {"Source-Organization": "天津市南开区人民政府合作交流办公室"}
# 2024-03-05 01:30 UTC is 09:30 in Tianjin; 2024-03-04 23:00 UTC is already the 5th there.
NOW = datetime(2024, 3, 4, 23, 0, tzinfo=UTC)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(expected: str | None = None) -> list[PayloadFile]:
    return [
        PayloadFile(REPORT, io.BytesIO(REPORT_BYTES), expected),
        PayloadFile(ANNEX, io.BytesIO(ANNEX_BYTES), media_type="text/plain"),
    ]


def put_sample(packages: Packages, prefix: str = PREFIX) -> None:
    packages.put_package(prefix, payload(sha256(REPORT_BYTES)), METADATA, BAG_INFO)


@pytest.fixture
def memory() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    archive = tmp_path / "archive"
    archive.mkdir()
    return archive


def on_filesystem(root: Path) -> Packages:
    return Packages(FilesystemStore(root), clock=lambda: NOW)


def validate_bag(path: Path) -> bagit.Bag:
    bag = bagit.Bag(str(path))
    bag.validate()
    return bag


class Unseekable(io.RawIOBase):
    """A response body: bytes go out and cannot be taken back."""

    def __init__(self) -> None:
        self.received = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.received += data
        return len(data)


# -- writing ---------------------------------------------------------------------------


def test_a_package_in_a_filesystem_store_validates_with_bagit(root: Path) -> None:
    put_sample(on_filesystem(root))

    bag = validate_bag(root / PREFIX)

    metadata_size = len((root / PREFIX / "data/metadata.json").read_bytes())
    assert bag.info == {
        "Source-Organization": BAG_INFO["Source-Organization"],
        "Organization-Code": ORG,
        "Category": "rule_of_law_report",
        "Period": "2023",
        "External-Identifier": "F20240001/v1",
        "Bagging-Date": "2024-03-05",
        "Bag-Software-Agent": f"disclosure-service/{__version__}",
        "Payload-Oxum": f"{len(REPORT_BYTES) + len(ANNEX_BYTES) + metadata_size}.3",
    }
    assert sorted(bag.payload_entries()) == sorted(
        [f"data/{REPORT}", f"data/{ANNEX}", "data/metadata.json"]
    )
    # the tag manifest a timestamp stamps, over bagit.txt, bag-info.txt and the manifest
    assert [Path(f).name for f in bag.tagmanifest_files()] == ["tagmanifest-sha256.txt"]
    tagged = (root / PREFIX / "tagmanifest-sha256.txt").read_text().splitlines()
    assert sorted(line.split("  ")[1] for line in tagged) == [
        "bag-info.txt",
        "bagit.txt",
        "manifest-sha256.txt",
    ]


def test_the_manifest_is_written_last_then_the_tag_manifest_over_it(
    memory: InMemoryStore,
) -> None:
    put_sample(Packages(memory))

    assert memory.put_order[-1] == f"{PREFIX}tagmanifest-sha256.txt"
    assert sorted(memory.put_order[:-2]) == sorted(
        [
            f"{PREFIX}data/{REPORT}",
            f"{PREFIX}data/{ANNEX}",
            f"{PREFIX}data/metadata.json",
            f"{PREFIX}bagit.txt",
            f"{PREFIX}bag-info.txt",
        ]
    )
    assert memory.put_order[-2] == f"{PREFIX}manifest-sha256.txt"


def test_put_package_returns_the_stored_files_and_the_manifest(memory: InMemoryStore) -> None:
    ref = Packages(memory).put_package(PREFIX, payload(), METADATA, BAG_INFO)

    assert ref.prefix == PREFIX
    assert [(f.key, f.sha256) for f in ref.files[:2]] == [
        (f"{PREFIX}data/{REPORT}", sha256(REPORT_BYTES)),
        (f"{PREFIX}data/{ANNEX}", sha256(ANNEX_BYTES)),
    ]
    assert ref.files[2].key == f"{PREFIX}data/metadata.json"
    assert memory.stat(f"{PREFIX}{MANIFEST}") == ref.manifest


@pytest.mark.parametrize("failing_put", [1, 2, 3, 4, 5])
def test_a_failure_before_the_manifest_leaves_a_package_that_is_never_served(
    failing_put: int,
) -> None:
    store = InMemoryStore(fail_on_put=failing_put)
    packages = Packages(store)

    with pytest.raises(ArchiveUnavailable):
        put_sample(packages)

    assert not packages.is_complete(PREFIX)
    with pytest.raises(ObjectMissing), packages.open_payload(PREFIX, REPORT):
        pass
    with pytest.raises(ObjectMissing):
        packages.read_metadata(PREFIX)
    with pytest.raises(ObjectMissing):
        packages.put_receipt(PREFIX, "portal", {"article_id": "a1"})
    with pytest.raises(ObjectMissing):
        packages.write_zip(PREFIX, io.BytesIO(), bag_name="bag")
    assert not packages.verify(PREFIX).complete
    assert list(packages.iter_packages()) == ([PREFIX] if store.put_order else [])  # reconcile


def test_a_staged_payload_that_fails_leaves_no_tag_file_to_orphan(tmp_path: Path) -> None:
    store = InMemoryStore(fail_on_put=1)  # the payload is put first: it fails
    packages = Packages(store)
    path = tmp_path / "report.docx"
    path.write_bytes(REPORT_BYTES)
    staged = packages.stage_payload(
        PREFIX, REPORT, path, sha256=sha256(REPORT_BYTES), size=len(REPORT_BYTES)
    )

    with pytest.raises(ArchiveUnavailable):
        packages.put_package(PREFIX, [staged], METADATA, BAG_INFO)

    assert store.put_order == []


def test_an_unexpected_sha256_raises_fixity_mismatch_and_writes_no_manifest(
    memory: InMemoryStore,
) -> None:
    packages = Packages(memory)

    with pytest.raises(FixityMismatch):
        packages.put_package(PREFIX, payload(expected=sha256(b"other")), METADATA, BAG_INFO)

    assert f"{PREFIX}data/{REPORT}" in memory.put_order
    assert f"{PREFIX}{MANIFEST}" not in memory.put_order
    assert not packages.is_complete(PREFIX)


def test_a_package_is_write_once(memory: InMemoryStore) -> None:
    put_sample(Packages(memory))

    with pytest.raises(AlreadyExists):
        put_sample(Packages(memory))


@pytest.mark.parametrize(
    ("files", "metadata", "bag_info"),
    [
        ([PayloadFile("a.pdf", io.BytesIO()), PayloadFile("A.PDF", io.BytesIO())], {}, {}),
        ([PayloadFile("a.pdf", io.BytesIO(), expected_sha256="abc")], {}, {}),
        ([], {"score": float("nan")}, {}),
        ([], {"when": datetime(2024, 1, 1)}, {}),
        ([], {}, {"Source-Organization": "第一行\n第二行"}),
        ([], {}, {"Payload-Oxum": "1.1"}),
        ([], {}, {"Category": "leadership"}),
        ([], {}, {"Bad Label": "x"}),
    ],
)
def test_put_package_checks_its_arguments_before_writing_anything(
    memory: InMemoryStore,
    files: list[PayloadFile],
    metadata: dict[str, Any],
    bag_info: dict[str, str],
) -> None:
    with pytest.raises((ValueError, TypeError)):
        Packages(memory).put_package(PREFIX, files, metadata, bag_info)

    assert memory.put_order == []


def test_bag_info_may_repeat_what_the_prefix_says(memory: InMemoryStore) -> None:
    info = BAG_INFO | {"Organization-Code": ORG, "Category": "rule_of_law_report", "Period": "2023"}

    Packages(memory).put_package(PREFIX, payload(), METADATA, info)

    with memory.open(f"{PREFIX}bag-info.txt") as stream:
        assert stream.read().decode().count("Category: rule_of_law_report") == 1


# -- reading ---------------------------------------------------------------------------


def test_metadata_reads_back_and_is_stored_as_readable_sorted_json(memory: InMemoryStore) -> None:
    packages = Packages(memory)
    put_sample(packages)

    assert packages.read_metadata(PREFIX) == METADATA
    with memory.open(f"{PREFIX}data/metadata.json") as stream:
        raw = stream.read().decode()
    assert raw == json.dumps(METADATA, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    assert "法治政府" in raw


def test_open_payload_streams_the_file_by_its_submitted_or_stored_name(
    memory: InMemoryStore,
) -> None:
    packages = Packages(memory)
    packages.put_package(PREFIX, [PayloadFile("../报告 100%.pdf", io.BytesIO(b"%PDF"))], {}, {})

    for name in ("../报告 100%.pdf", "_报告 100％.pdf"):
        with packages.open_payload(PREFIX, name) as stream:
            assert stream.read() == b"%PDF"
    with pytest.raises(ObjectMissing), packages.open_payload(PREFIX, "other.pdf"):
        pass


def test_open_payload_raises_fixity_mismatch_at_eof_on_tampered_bytes(
    memory: InMemoryStore,
) -> None:
    packages = Packages(memory)
    put_sample(packages)
    tampered = bytearray(REPORT_BYTES)
    tampered[-1] ^= 0xFF
    memory.corrupt(f"{PREFIX}data/{REPORT}", bytes(tampered))

    with packages.open_payload(PREFIX, REPORT) as stream:
        assert stream.read(100) == REPORT_BYTES[:100]  # nothing can be judged yet
        with pytest.raises(FixityMismatch):
            stream.read()


def test_iter_packages_finds_complete_and_incomplete_packages(memory: InMemoryStore) -> None:
    packages = Packages(memory)
    second = package_prefix(ORG, "leadership", "2024-03-05", "F20240002", 2)
    put_sample(packages)
    memory.fail_on_put = len(memory.put_order) + 2
    with pytest.raises(ArchiveUnavailable):
        put_sample(packages, second)
    memory.put_new("filings/README", io.BytesIO(b"not a package"))
    memory.put_new("audit/2024-03-05.jsonl", io.BytesIO(b"{}\n"))

    assert sorted(packages.iter_packages()) == sorted([PREFIX, second])
    assert [packages.is_complete(p) for p in (PREFIX, second)] == [True, False]


# -- receipts ----------------------------------------------------------------------------


def test_receipts_are_write_once_objects_beside_the_package(memory: InMemoryStore) -> None:
    packages = Packages(memory, clock=lambda: NOW)
    put_sample(packages)

    first = packages.put_receipt(PREFIX, "legal_platform", {"receipt_no": "R1"}, seq=1)
    again = packages.put_receipt(PREFIX, "legal_platform", {"receipt_no": "R1"}, seq=1)
    with pytest.raises(AlreadyExists):
        packages.put_receipt(PREFIX, "legal_platform", {"receipt_no": "R2"}, seq=1)
    second = packages.put_receipt(PREFIX, "legal_platform", {"review": "accepted"}, seq=2)
    portal = packages.put_receipt(PREFIX, "portal", {"article_id": "a1"})

    assert again == first
    assert first.key == f"{PREFIX}receipts/legal_platform-000001.json"
    assert portal.key == f"{PREFIX}receipts/portal-20240304T230000000000Z.json"
    assert packages.list_receipts(PREFIX) == [first.key, second.key, portal.key]
    assert packages.existing_receipt(PREFIX, "legal_platform") == second
    with pytest.raises(ObjectMissing):
        packages.existing_receipt(PREFIX, "elsewhere")


# -- fixity --------------------------------------------------------------------------------


def test_verify_of_an_intact_package_is_ok(memory: InMemoryStore) -> None:
    packages = Packages(memory)
    put_sample(packages)
    receipt = packages.put_receipt(PREFIX, "portal", {"article_id": "a1"}, seq=1)
    manifest = memory.stat(f"{PREFIX}{MANIFEST}")
    assert manifest is not None

    report = packages.verify(PREFIX, {receipt.key: receipt.sha256}, manifest_sha256=manifest.sha256)

    assert report.ok
    assert report.checked == 5  # manifest, 3 payload files, 1 receipt


def test_verify_reports_tampered_deleted_and_unrecorded_files(root: Path) -> None:
    packages = on_filesystem(root)
    put_sample(packages)
    receipt = packages.put_receipt(PREFIX, "portal", {"article_id": "a1"}, seq=1)
    packages.put_receipt(PREFIX, "portal", {"article_id": "a1", "note": "unrecorded"}, seq=2)
    report_path = root / PREFIX / "data" / REPORT
    report_path.chmod(0o644)
    report_path.write_bytes(b"tampered")
    (root / PREFIX / "data" / ANNEX).unlink()
    (root / PREFIX / "data" / "planted.txt").write_bytes(b"x")

    report = packages.verify(PREFIX, {receipt.key: sha256(b"not what was stored")})

    assert not report.ok
    assert report.missing == (f"data/{ANNEX}",)
    assert report.mismatched == (
        Mismatch(f"data/{REPORT}", sha256(REPORT_BYTES), sha256(b"tampered")),
        Mismatch("receipts/portal-000001.json", sha256(b"not what was stored"), receipt.sha256),
    )
    assert report.extra == ("data/planted.txt", "receipts/portal-000002.json")


def test_verify_catches_a_rewritten_manifest_given_its_recorded_hash(root: Path) -> None:
    packages = on_filesystem(root)
    put_sample(packages)
    manifest_path = root / PREFIX / MANIFEST
    recorded = sha256(manifest_path.read_bytes())
    manifest_path.chmod(0o644)
    manifest_path.write_text("this is not a manifest\n")

    report = packages.verify(PREFIX, manifest_sha256=recorded)

    assert [m.path for m in report.mismatched] == [MANIFEST]
    assert report.unreadable == (MANIFEST,)
    assert not report.ok


# -- export --------------------------------------------------------------------------------


def test_the_zip_download_validates_with_bagit_with_receipts_in_the_tag_manifest(
    root: Path, tmp_path: Path
) -> None:
    packages = on_filesystem(root)
    put_sample(packages)
    receipt = packages.put_receipt(
        PREFIX, "portal", {"article_id": "a1", "栏目": "法治政府"}, seq=1
    )
    out = Unseekable()

    packages.write_zip(PREFIX, out, bag_name="F20240001-v1")

    with zipfile.ZipFile(io.BytesIO(bytes(out.received))) as archive:
        archive.extractall(tmp_path / "download")
    bag = validate_bag(tmp_path / "download" / "F20240001-v1")
    assert sorted(bag.tagfile_entries()) == [
        "bag-info.txt",
        "bagit.txt",
        "manifest-sha256.txt",
        "proof/tagmanifest-sha256.txt",  # the archived one a timestamp stamps
        "receipts/portal-000001.json",
    ]
    downloaded = tmp_path / "download/F20240001-v1/receipts/portal-000001.json"
    assert sha256(downloaded.read_bytes()) == receipt.sha256


def test_a_zip_of_a_damaged_package_raises_and_is_not_a_readable_zip(
    memory: InMemoryStore,
) -> None:
    packages = Packages(memory)
    put_sample(packages)
    memory.corrupt(f"{PREFIX}data/{ANNEX}", b"changed")
    out = io.BytesIO()

    with pytest.raises(FixityMismatch):
        packages.write_zip(PREFIX, out, bag_name="bag")

    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(out.getvalue()))


def test_names_with_chinese_characters_spaces_and_odd_marks_work_end_to_end(
    root: Path, tmp_path: Path
) -> None:
    names = {
        "南开区 合作交流办 2023 报告.pdf": b"%PDF-1.7 a",
        "附件 1：统计表（2023）.txt": b"b",
        "完成率 100%.txt": b"c",
        "../../etc/passwd": b"d",
        "metadata.json": b"{}",
    }
    packages = on_filesystem(root)
    files = [PayloadFile(n, io.BytesIO(d), sha256(d)) for n, d in names.items()]
    packages.put_package(PREFIX, files, METADATA, BAG_INFO)

    validate_bag(root / PREFIX)
    for name, data in names.items():
        with packages.open_payload(PREFIX, name) as stream:
            assert stream.read() == data
    assert packages.verify(PREFIX).ok
    out = io.BytesIO()
    packages.write_zip(PREFIX, out, bag_name="南开区-2023")
    with zipfile.ZipFile(out) as archive:
        archive.extractall(tmp_path / "download")
    validate_bag(tmp_path / "download" / "南开区-2023")


# -- names -------------------------------------------------------------------------------


def test_package_prefix_follows_the_archive_layout() -> None:
    prefix = package_prefix(ORG, "rule_of_law_report", "2023", "F20240001", 1)

    assert prefix == f"filings/{ORG}/rule_of_law_report/2023/F20240001/v1/"
    assert PackageId.from_prefix(PREFIX) == PackageId(
        ORG, "rule_of_law_report", "2023", "F20240001", 1
    )


@pytest.mark.parametrize(
    "prefix",
    [
        "filings/A/b/2023/F1/v0/",
        "filings/A/b/2023/F1/v1",
        "filings/A/b/2023/F1/1/",
        "filings/A/../2023/F1/v1/",
        "other/A/b/2023/F1/v1/",
        "filings/A/b/2023/F1/v1/data/",
    ],
)
def test_a_malformed_package_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        PackageId.from_prefix(prefix)


@pytest.mark.parametrize(
    ("submitted", "stored"),
    [
        ("南开区 2023年报告.docx", "南开区 2023年报告.docx"),
        ("  ..hidden.pdf ", "hidden.pdf"),
        ("a/b\\c.pdf", "a_b_c.pdf"),
        ("tab\there\x00.txt", "tab_here_.txt"),
        ("100%.txt", "100％.txt"),
        ("..", "unnamed"),
        ("", "unnamed"),
        ("metadata.json", "_metadata.json"),
        ("Metadata.JSON", "_Metadata.JSON"),
        ("报" * 100 + ".docx", "报" * 65 + ".docx"),
    ],
)
def test_payload_name_makes_a_safe_readable_name(submitted: str, stored: str) -> None:
    assert payload_name(submitted) == stored


@given(st.text(max_size=300))
def test_payload_name_is_always_a_valid_stable_single_segment(submitted: str) -> None:
    name = payload_name(submitted)

    assert payload_name(name) == name
    assert check_key(f"data/{name}")
    assert len(name.encode()) <= 200
    assert name.casefold() != "metadata.json"
    assert name == name.strip() and not name.startswith(".")
    assert "%" not in name and len(name.splitlines()) == 1


@given(
    st.dictionaries(
        st.text(
            st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"]), min_size=1
        )
        .filter(lambda n: n not in (".", "..") and not n.startswith(".tmp-"))
        .filter(lambda n: len(n.encode()) <= 255)
        .map(lambda n: f"data/{n}"),
        st.binary(min_size=1).map(sha256),
        max_size=5,
    )
)
def test_manifest_paths_with_percent_cr_and_lf_round_trip(hashes: dict[str, str]) -> None:
    assert parse_manifest(manifest_text(hashes)) == hashes


def test_a_manifest_naming_a_file_outside_data_is_malformed() -> None:
    with pytest.raises(FixityMismatch):
        parse_manifest(f"{sha256(b'')}  data/../bagit.txt\n")
    with pytest.raises(FixityMismatch):
        parse_manifest(f"{sha256(b'')}  bagit.txt\n")


def test_a_manifest_with_crlf_line_ends_parses() -> None:
    text = f"{sha256(b'a')}  data/a.txt\r\n{sha256(b'b')}  data/b c.txt\r\n"

    assert parse_manifest(text) == {"data/a.txt": sha256(b"a"), "data/b c.txt": sha256(b"b")}
    assert parse_manifest("") == {}
