"""Capture of published pages: the fetcher (one adapter, httpx), the WARC writer
(warcio) and the extraction of a page's main text and attachment links."""
