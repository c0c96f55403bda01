"""The standard plugin pack of returnrules."""
