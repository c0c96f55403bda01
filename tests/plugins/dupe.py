"""A broken test plugin: it registers ``sample.level``, which sample.py owns."""

from __future__ import annotations

from collections.abc import Callable

from returnrules import Fact, FactType, hookimpl


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    register(Fact("sample.level", FactType("int"), lambda ctx: 1))
