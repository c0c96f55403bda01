"""A broken test plugin: its hook name has a typo (``..._register_fact``)."""

from __future__ import annotations

from collections.abc import Callable

from returnrules import Fact, FactType, hookimpl


@hookimpl
def returnrules_register_fact(register: Callable[[Fact], None]) -> None:
    register(Fact("misspelt.value", FactType("int"), lambda ctx: 1))
