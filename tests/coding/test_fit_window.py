"""The coder's prompt fits the model's window: the system and task messages always stay, later rounds are dropped
oldest first, and what is kept is the longest newest run that fits with room for the answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sophia.coding._prompts import fit_window, prompt_tokens

text = st.text(alphabet="abc def\n", max_size=3000)


def _messages(task: str, rounds: list[str]) -> list[dict[str, str]]:
    later = [{"role": "assistant" if i % 2 == 0 else "user", "content": t} for i, t in enumerate(rounds)]
    return [{"role": "system", "content": "You edit code."}, {"role": "user", "content": task}, *later]


@given(text, st.lists(text, max_size=12), st.integers(256, 8192), st.integers(0, 1024))
def test_the_newest_rounds_that_fit_are_kept_after_the_task(
    task: str, rounds: list[str], window: int, answer: int
) -> None:
    messages = _messages(task, rounds)
    fitted = fit_window(messages, window, answer)
    kept = fitted[2:]
    assert fitted[:2] == messages[:2]
    assert kept == (messages[len(messages) - len(kept) :] if kept else [])  # a suffix: newest rounds
    if fitted != messages:
        assert not kept or prompt_tokens(fitted) + answer <= window
        dropped_next = messages[len(messages) - len(kept) - 1]
        assert prompt_tokens([*fitted[:2], dropped_next, *kept]) + answer > window  # the longest that fits


def test_without_a_window_or_when_all_fits_the_messages_are_unchanged() -> None:
    messages = _messages("fix it", ["edit one", "tests fail: " + "x" * 20000])
    assert fit_window(messages, None, 768) is messages
    assert fit_window(messages, 100_000, 768) is messages
    assert fit_window(messages, 4096, 768) == messages[:2]  # the long feedback no longer fits
