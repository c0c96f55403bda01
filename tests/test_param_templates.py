"""Messages among a check's or action's parameters.

The parameters of every policy are structured by one converter per currency
and vocabularies (made once: it generates a structuring function per class);
the messages in them are compiled afterwards against the loading policy's own
facts, wherever the parameter class keeps them, and a message that does not
compile is reported at its key.
"""

from __future__ import annotations

import copy
from typing import Any

import attrs
import pytest

from returnrules import (
    Action,
    Fact,
    FactType,
    PolicyError,
    Template,
    hookimpl,
    loads_policy,
)
from tests.conftest import BASE_REQUEST

HEAD = 'version = 1\n[policy]\ncurrency = "CNY"\ndefault = "approve"\n'


@attrs.frozen
class Inner:
    message: Template


@attrs.frozen
class LetterParams:
    lines: list[Template]
    by_tier: dict[str, Template] = attrs.field(factory=dict)
    inner: Inner | None = None


class Letters:
    """An action whose messages sit in a list, a table and a nested class."""

    __name__ = "letters"

    @hookimpl
    def returnrules_register_actions(self, register: Any) -> None:
        def run(ctx: Any, params: LetterParams) -> dict[str, Any]:
            texts = [t.render(ctx) for t in params.lines]
            texts += [params.by_tier[k].render(ctx) for k in sorted(params.by_tier)]
            if params.inner is not None:
                texts.append(params.inner.message.render(ctx))
            return {"text": " | ".join(texts)}

        register(Action("letters", run, LetterParams))


class Extra:
    """A fact only some policies load."""

    __name__ = "extra"

    @hookimpl
    def returnrules_register_facts(self, register: Any) -> None:
        register(Fact("extra.word", FactType("str"), lambda ctx: "hello"))


def policy(then: str, *plugins: object) -> Any:
    text = HEAD + '[[rule]]\nid = "r"\nwhen = { fact = "line.qty", ge = 1 }\n'
    text += f"then = [{then}]\n"
    return loads_policy(text, plugins=[Letters(), *plugins], autoload=False)


def test_messages_anywhere_in_the_parameters_are_compiled() -> None:
    loaded = policy(
        '{ action = "letters", lines = ["sku {part.sku}", "qty {line.qty}"], '
        'by_tier = { vip = "tier {customer.tier}" }, '
        'inner = { message = "word {extra.word}" } }',
        Extra(),
    )
    decision = loaded.evaluate(copy.deepcopy(BASE_REQUEST))
    (action,) = decision.lines[0].actions
    sku = BASE_REQUEST["order"]["lines"][0]["sku"]
    qty = BASE_REQUEST["lines"][0]["qty"]
    tier = loaded.vocabularies["tier"].label(BASE_REQUEST["customer"]["tier"])
    assert action["text"] == f"sku {sku} | qty {qty} | tier {tier} | word hello"


@pytest.mark.parametrize(
    ("then", "where"),
    [
        ('{ action = "letters", lines = ["ok", "bad {line.nope}"] }', "lines[1]"),
        (
            '{ action = "letters", lines = [], by_tier = { vip = "{line.nope}" } }',
            "by_tier.vip",
        ),
        (
            '{ action = "letters", lines = [], inner = { message = "{line.nope}" } }',
            "inner.message",
        ),
    ],
)
def test_a_message_that_does_not_compile_is_reported_at_its_key(
    then: str, where: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        policy(then)
    (problem,) = caught.value.errors
    assert problem.message.startswith(
        f"action letters: {where}: unknown placeholder: {{line.nope}} is not a fact"
    )


def test_each_policy_compiles_its_messages_against_its_own_facts() -> None:
    """The converter is shared by policies of one currency and vocabularies;
    what a message may name is still each policy's own."""
    then = '{ action = "letters", lines = ["{extra.word}"] }'
    with_extra = policy(then, Extra())
    with pytest.raises(PolicyError, match=r"\{extra\.word\} is not a fact"):
        policy(then)
    decision = with_extra.evaluate(copy.deepcopy(BASE_REQUEST))
    assert decision.lines[0].actions[0]["text"] == "hello"
    again = policy(then, Extra())  # and the same plugin set again
    decision = again.evaluate(copy.deepcopy(BASE_REQUEST))
    assert decision.lines[0].actions[0]["text"] == "hello"


def test_policies_loaded_at_once_on_threads_keep_their_own_messages() -> None:
    """The shared converter holds nothing of one policy: sixteen policies
    loaded from eight threads at once decide as they do loaded in turn."""
    import concurrent.futures
    import json

    def decided(i: int) -> str:
        loaded = policy(
            f'{{ action = "letters", lines = ["{i % 16} {{part.sku}}", '
            f'"{{extra.word}} {i % 16}"], inner = {{ message = "n{i % 16}" }} }}',
            Extra(),
        )
        decision = loaded.evaluate(copy.deepcopy(BASE_REQUEST))
        return json.dumps(decision.to_dict(), ensure_ascii=False, sort_keys=True)

    in_turn = [decided(i) for i in range(48)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        at_once = list(pool.map(decided, range(48)))
    assert at_once == in_turn
    assert len(set(in_turn)) == 16
