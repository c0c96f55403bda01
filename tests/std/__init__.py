"""Helpers for the tests of the standard plugin pack and the shipped policy."""
