"""Reliability tests: server faults, cache corruption, hostile input, secrets; concurrency, cargo
interplay, crash injection, unwritable caches, properties."""
