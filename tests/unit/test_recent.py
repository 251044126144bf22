"""The cache of what never changes once written: each value made once while it is
recent, the least recently used dropped first to keep within the budget."""

from __future__ import annotations

from service.usecases.recent import Recent


def test_a_value_is_made_once_while_it_stays_recent() -> None:
    made: list[str] = []
    texts = Recent[str, str](budget=10, weight=len)

    def make(key: str) -> str:
        made.append(key)
        return key * 4

    assert texts.get_or("a", lambda: make("a")) == "aaaa"
    assert texts.get_or("a", lambda: make("a")) == "aaaa"
    texts.get_or("b", lambda: make("b"))
    texts.get_or("a", lambda: make("a"))  # "a" is now the most recent
    texts.get_or("c", lambda: make("c"))  # 12 > 10: "b", the least recent, goes

    texts.get_or("a", lambda: make("a"))
    texts.get_or("b", lambda: make("b"))
    assert made == ["a", "b", "c", "b"]


def test_a_value_over_the_whole_budget_is_returned_but_not_kept() -> None:
    made: list[int] = []
    texts = Recent[int, str](budget=3, weight=len)

    for _ in range(2):
        assert texts.get_or(1, lambda: made.append(1) or "long") == "long"

    assert made == [1, 1]
