"""The FIX 4.4 codec: exact bytes, BodyLength and CheckSum by hand, round trips, repeating
groups, and a byte stream cut anywhere or mixed with garbage."""

from __future__ import annotations

import os

import pytest
from hftcore.errors import InvalidValue
from hftcore.venues.fix.codec import (
    FixDecodeError,
    FixMessage,
    FixStreamParser,
    Tag,
    byte_sum,
    decode_message,
    encode_message,
    group_fields,
)
from hypothesis import given
from hypothesis import strategies as st

HEARTBEAT_FIELDS = [(35, "0"), (49, "A"), (56, "B"), (34, 1), (52, "20260101-00:00:00.000")]


def hand_encoded(body: bytes) -> bytes:
    """The wire bytes, counted the slow way."""
    head = b"8=FIX.4.4\x019=" + str(len(body)).encode() + b"\x01"
    checksum = sum(head + body) % 256
    return head + body + b"10=" + f"{checksum:03d}".encode() + b"\x01"


def test_encode_gives_the_exact_bytes_with_body_length_and_checksum() -> None:
    body = b"35=0\x0149=A\x0156=B\x0134=1\x0152=20260101-00:00:00.000\x01"
    assert encode_message(HEARTBEAT_FIELDS) == hand_encoded(body)
    assert encode_message(HEARTBEAT_FIELDS)[-7:] == hand_encoded(body)[-7:]


def test_byte_sum_equals_sum_for_any_length() -> None:
    for length in (0, 1, 255, 256, 257, 511, 512, 4096, 70_000):
        data = os.urandom(length)
        assert byte_sum(data) == sum(data)
        assert byte_sum(b"\xff" * length) == 255 * length


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=99_999),
            st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), min_size=1),
        ),
        max_size=30,
    )
)
def test_round_trip(fields: list[tuple[int, str]]) -> None:
    message = [(35, "D"), *fields]
    decoded = decode_message(encode_message(message))
    assert decoded.fields == message
    assert decoded.msg_type == "D"
    for tag, _ in message:
        # get() gives the first occurrence of a repeated tag
        assert decoded.get(tag) == next(value for t, value in message if t == tag)


def test_decode_reads_fields_in_order_and_first_occurrence() -> None:
    raw = encode_message([(35, "8"), (11, "X"), (136, 2), (137, "1.5"), (137, "2")])
    message = decode_message(raw)
    assert message.get(Tag.CL_ORD_ID) == "X"
    assert message.get(Tag.MISC_FEE_AMT) == "1.5"
    assert Tag.NO_MISC_FEES in message
    assert Tag.PRICE not in message
    assert message.get(Tag.PRICE) is None


def test_repeating_group_round_trip() -> None:
    members = (Tag.MISC_FEE_AMT, Tag.MISC_FEE_CURR, Tag.MISC_FEE_TYPE)
    fees = [
        [(Tag.MISC_FEE_AMT, "0.25"), (Tag.MISC_FEE_CURR, "USD"), (Tag.MISC_FEE_TYPE, "4")],
        [(Tag.MISC_FEE_AMT, "1"), (Tag.MISC_FEE_TYPE, "1")],
    ]
    raw = encode_message([(35, "8"), *group_fields(Tag.NO_MISC_FEES, fees), (58, "after")])
    message = decode_message(raw)
    assert message.group(Tag.NO_MISC_FEES, members) == [
        {137: "0.25", 138: "USD", 139: "4"},
        {137: "1", 139: "1"},
    ]
    assert message.get(Tag.TEXT) == "after"
    assert message.group(Tag.NO_PARTY_IDS, (Tag.PARTY_ID,)) == []


def test_repeating_group_count_must_match() -> None:
    members = (Tag.MISC_FEE_AMT, Tag.MISC_FEE_CURR)
    message = decode_message(encode_message([(35, "8"), (136, 2), (137, "1"), (138, "USD")]))
    with pytest.raises(FixDecodeError) as error:
        message.group(Tag.NO_MISC_FEES, members)
    assert error.value.code == "BAD_GROUP_COUNT"
    bad_count = decode_message(encode_message([(35, "8"), (136, "x"), (137, "1")]))
    with pytest.raises(FixDecodeError, match="BAD_GROUP_COUNT"):
        bad_count.group(Tag.NO_MISC_FEES, members)


def test_value_with_soh_is_refused() -> None:
    with pytest.raises(InvalidValue) as error:
        encode_message([(35, "D"), (58, "a\x01b")])
    assert error.value.code == "SOH_IN_VALUE"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"8=FIX.4.2\x019=5\x0135=0\x0110=000\x01", "BAD_BEGIN_STRING"),
        (b"8=FIX.4.4\x019=x\x0135=0\x0110=000\x01", "BAD_BODY_LENGTH"),
        (b"8=FIX.4.4\x019=6\x0135=0\x0110=000\x01", "BAD_BODY_LENGTH"),
        (b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01", "BAD_CHECKSUM"),
        (b"8=FIX.4.4\x019=5\x0135=0\x0110=0a0\x01", "BAD_CHECKSUM"),
    ],
)
def test_decode_refuses_bad_frames(raw: bytes, code: str) -> None:
    with pytest.raises(FixDecodeError) as error:
        decode_message(raw)
    assert error.value.code == code


def test_decode_refuses_bad_fields_and_missing_msg_type() -> None:
    with pytest.raises(FixDecodeError, match="BAD_FIELD"):
        decode_message(hand_encoded(b"35=0\x01junk\x01"))
    with pytest.raises(FixDecodeError, match="BAD_FIELD"):
        decode_message(hand_encoded(b"35=0\x01x1=2\x01"))
    with pytest.raises(FixDecodeError, match="MISSING_MSG_TYPE"):
        decode_message(hand_encoded(b"49=A\x0135=0\x01"))


def test_stream_parser_reassembles_messages_cut_anywhere() -> None:
    messages = [
        encode_message([(35, "D"), (34, seq), (11, f"order-{seq}"), (58, "x" * seq)])
        for seq in range(1, 40)
    ]
    stream = b"".join(messages)
    for chunk in (1, 7, 64, len(stream)):
        parser = FixStreamParser()
        out: list[FixMessage | FixDecodeError] = []
        for start in range(0, len(stream), chunk):
            out += parser.feed(stream[start : start + chunk])
        assert [m.get(11) for m in out if isinstance(m, FixMessage)] == [
            f"order-{seq}" for seq in range(1, 40)
        ]
        assert parser.garbage_bytes == 0
        assert parser.garbled_messages == 0


def test_stream_parser_skips_garbage_and_reports_broken_messages() -> None:
    good = [encode_message([(35, "0"), (34, seq)]) for seq in (1, 2, 3, 4)]
    bad_checksum = bytearray(encode_message([(35, "0"), (34, 9), (58, "bad")]))
    bad_checksum[-3] = ord("9") if bad_checksum[-3] != ord("9") else ord("8")
    truncated = good[1][:-9]  # cut short, then the next message starts
    stream = (
        b"\x00garbage!!"
        + good[0]
        + bytes(bad_checksum)
        + truncated
        + good[2]
        + b"8=FIX.4.4\x019=zz\x01"
        + good[3]
    )
    parser = FixStreamParser()
    out = parser.feed(stream)
    decoded = [m.get(34) for m in out if isinstance(m, FixMessage)]
    errors = [m.code for m in out if isinstance(m, FixDecodeError)]
    assert decoded == ["1", "3", "4"]
    assert errors == ["BAD_CHECKSUM", "BAD_BODY_LENGTH", "BAD_BODY_LENGTH"]
    assert parser.garbled_messages == 3
    assert parser.garbage_bytes >= len(b"\x00garbage!!")


def test_stream_parser_reads_seq_num_of_a_well_framed_message_with_a_bad_field() -> None:
    parser = FixStreamParser()
    (error,) = parser.feed(hand_encoded(b"35=D\x0134=17\x01garbage\x01"))
    assert isinstance(error, FixDecodeError)
    assert (error.code, error.seq_num) == ("BAD_FIELD", 17)


def test_stream_parser_drops_an_absurd_body_length() -> None:
    parser = FixStreamParser()
    out = parser.feed(b"8=FIX.4.4\x019=99999999999\x01" + encode_message([(35, "0")]))
    assert [type(item) for item in out] == [FixDecodeError, FixMessage]


@given(
    st.lists(st.binary(max_size=40), min_size=4, max_size=4),
    st.lists(st.integers(min_value=1, max_value=600), max_size=12),
)
def test_stream_parser_recovers_every_message_between_random_garbage(
    garbage: list[bytes], cuts: list[int]
) -> None:
    messages = [encode_message([(35, "0"), (34, seq), (58, "x" * seq)]) for seq in range(1, 5)]
    junk = [g.replace(b"8", b"7") for g in garbage]  # garbage that cannot start a message
    stream = b"".join(j + m for j, m in zip(junk, messages, strict=True))
    parser = FixStreamParser()
    out: list[FixMessage | FixDecodeError] = []
    position = 0
    for cut in [*sorted({min(cut, len(stream)) for cut in cuts}), len(stream)]:
        out += parser.feed(stream[position:cut])
        position = cut
    assert [m.get(34) for m in out if isinstance(m, FixMessage)] == ["1", "2", "3", "4"]
    assert parser.garbled_messages == 0
    assert parser.garbage_bytes == sum(len(j) for j in junk)
