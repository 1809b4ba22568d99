"""The local model's repeat guard: a generation that starts repeating a sentence ends before the repetition."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from sophia.gateway.providers._local_worker import RepeatGuard

SENTENCES = [
    "I'm here to help you with your project.",
    "SQLite keeps a write-ahead log beside the database.",
    "Yes.",
    "Readers do not block writers in WAL mode!",
    "Checkpoints copy pages back into the main file?",
    "\n",
]


def run(chunks: list[str]) -> str:
    guard = RepeatGuard()
    out = [guard.feed(chunk) for chunk in chunks]
    return "".join(out) + guard.flush()


def long_sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?\n])", text)
    keys = [" ".join(p.lower().split()).strip(" .!?") for p in parts]
    return [k for k in keys if len(k) >= 12]


def split_at(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False)]


texts = st.lists(st.sampled_from(SENTENCES), max_size=12).map(" ".join)


@given(texts, st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_output_is_a_prefix_of_the_generation_and_never_repeats_a_sentence(
    text: str, cuts: list[int]
) -> None:
    out = run(split_at(text, cuts))
    assert text.startswith(out)
    finished = long_sentences(out)
    assert len(finished) == len(set(finished))


@given(texts, st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_how_the_text_is_chunked_does_not_change_what_is_emitted(text: str, cuts: list[int]) -> None:
    assert run(split_at(text, cuts)) == run([text])


@given(st.permutations(SENTENCES[:5]), st.lists(st.integers(min_value=0, max_value=300), max_size=20))
def test_a_generation_without_repeats_passes_through_whole(sentences: list[str], cuts: list[int]) -> None:
    text = " ".join(sentences) + " and an unfinished end"
    assert run(split_at(text, cuts)) == text


def test_the_looping_answer_from_the_dashboard_stops_after_its_first_sentence() -> None:
    loop = "Hello! I'm here to help you with your project. " + "I'm here to help you with your project. " * 40
    guard = RepeatGuard()
    out = "".join(guard.feed(loop[i : i + 3]) for i in range(0, len(loop), 3))
    assert guard.stopped
    assert out == "Hello! I'm here to help you with your project."


def test_a_sentence_that_begins_like_an_earlier_one_is_released_when_it_differs() -> None:
    guard = RepeatGuard()
    first = guard.feed("I'm here to help you with your project. I'm here to help you")
    assert first == "I'm here to help you with your project."  # the possible repeat is held back
    assert guard.feed(" today") == " I'm here to help you today"
    assert not guard.stopped


def test_repeated_lines_inside_a_code_block_are_not_a_loop() -> None:
    text = (
        "Reverse it with a slice.\n```python\ndef reverse_list(items):\n    return items[::-1]\n```\n"
        "Or in place:\n```python\ndef reverse_list(items):\n    items.reverse()\n```\nReverse it with a slice.\n"
    )
    guard = RepeatGuard()
    out = guard.feed(text)
    assert guard.stopped  # the prose sentence after the code blocks is the repeat
    assert out == text[: text.rindex("Reverse it with a slice.")]
