"""The archive: write-once object storage behind the `ArchiveStore` port, and BagIt packages on top."""
