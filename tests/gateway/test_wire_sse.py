"""The SSE decoder must give the same events however the network splits the bytes."""

from __future__ import annotations

from pathlib import Path

import httpx
from hypothesis import given
from hypothesis import strategies as st

from sophia.gateway._sse import SSEDecoder, SSEEvent, aiter_sse, encode_sse

DATA = Path(__file__).parent / "data"


def decode_in_pieces(raw: bytes, cuts: list[int]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    last = 0
    for cut in sorted(set(cuts)):
        events += decoder.feed(raw[last:cut])
        last = cut
    events += decoder.feed(raw[last:])
    return events + decoder.close()


def test_decoder_reads_named_events_data_and_ids() -> None:
    raw = b'event: message_start\nid: 7\ndata: {"a": 1}\n\n: keep-alive\n\ndata: [DONE]\n\n'
    events = decode_in_pieces(raw, [])
    assert events == [SSEEvent('{"a": 1}', "message_start", "7"), SSEEvent("[DONE]", "", "7")]
    assert events[1].is_done and not events[0].is_done


def test_decoder_joins_multiline_data_and_accepts_crlf_and_cr() -> None:
    raw = b"data: one\r\ndata: two\r\n\r\ndata:three\r\rdata: x\n\n"
    assert [e.data for e in decode_in_pieces(raw, [])] == ["one\ntwo", "three", "x"]


def test_crlf_split_between_chunks_is_one_line_ending() -> None:
    assert [e.data for e in decode_in_pieces(b"data: a\r\ndata: b\r\n\r\n", [8])] == ["a\nb"]


def test_comment_only_stream_yields_nothing() -> None:
    assert decode_in_pieces(b": ping\n\n: ping\n\n", [3]) == []


def test_event_without_trailing_blank_line_is_still_dispatched_at_end() -> None:
    assert [e.data for e in decode_in_pieces(b"data: last\n", [])] == ["last"]


def test_unterminated_last_line_is_dropped_as_incomplete() -> None:
    assert decode_in_pieces(b'data: {"complete": true}\n\ndata: {"cut', []) == [
        SSEEvent('{"complete": true}')
    ]


def test_leading_bom_is_ignored_even_when_split() -> None:
    raw = b"\xef\xbb\xbfdata: x\n\n"
    assert decode_in_pieces(raw, [1, 2]) == [SSEEvent("x")]


def test_multibyte_utf8_split_inside_a_character_survives() -> None:
    raw = "data: héllo ✓\n\n".encode()
    assert decode_in_pieces(raw, [8, 14]) == [SSEEvent("héllo ✓")]


def _fixtures() -> list[bytes]:
    return [path.read_bytes() for path in sorted(DATA.glob("*.sse"))]


@given(
    raw=st.sampled_from(_fixtures()),
    crlf=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=6000), max_size=40),
)
def test_events_do_not_depend_on_how_bytes_are_split(raw: bytes, crlf: bool, cuts: list[int]) -> None:
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    assert decode_in_pieces(raw, cuts) == decode_in_pieces(raw, [])


@given(
    lines=st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=12).map(
                lambda t: "data: " + t
            ),
            st.sampled_from(["", ": comment", "event: e", "id: 1", "retry: 5", "data"]),
        ),
        max_size=20,
    ),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=20),
)
def test_arbitrary_streams_split_anywhere_decode_the_same(
    lines: list[str], ending: str, cuts: list[int]
) -> None:
    raw = (ending.join(lines) + ending).encode()
    assert decode_in_pieces(raw, cuts) == decode_in_pieces(raw, [])


async def test_aiter_sse_reads_an_httpx_byte_stream() -> None:
    raw = (DATA / "openai_stream_text.sse").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"content-type": "text/event-stream"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        async with client.stream("GET", "http://127.0.0.1/") as response:
            events = [event async for event in aiter_sse(response.aiter_bytes())]
    assert len(events) == 6 and events[-1].is_done


def test_encode_sse_round_trips_through_the_decoder() -> None:
    raw = encode_sse({"type": "ping"}, event="ping") + encode_sse("[DONE]")
    assert decode_in_pieces(raw, []) == [SSEEvent('{"type":"ping"}', "ping"), SSEEvent("[DONE]")]
