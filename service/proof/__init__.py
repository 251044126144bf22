"""Trusted timestamps (RFC 3161): requests, token checks (`tokens`) and the TSA adapter
(`tsa`, the only module that talks to a time-stamping authority)."""
