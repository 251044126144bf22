"""Delivery: destination adapters behind the `DestinationAdapter` port, the retry policy and the worker."""
