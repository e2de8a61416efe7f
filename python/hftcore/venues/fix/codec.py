"""FIX 4.4 tag=value codec: framing, BodyLength and CheckSum, repeating groups.

A message on the wire is ``8=FIX.4.4<SOH>9=<BodyLength><SOH>35=<MsgType><SOH>...10=<CheckSum><SOH>``
where BodyLength counts the bytes from the field after it up to and including the SOH before
``10=``, and CheckSum is the sum of every byte before ``10=`` modulo 256, as three digits.

:func:`encode_message` builds those bytes from ``(tag, value)`` pairs that start with MsgType;
:func:`decode_message` checks one framed message and returns a :class:`FixMessage`;
:class:`FixStreamParser` cuts a TCP byte stream into messages and counts what it cannot frame.
Values are ASCII text (Latin-1 decoded, so every byte maps to one character); tags are ints.
Raw data fields (a value containing SOH) are not supported: no message this package uses has one.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Final

from hftcore.errors import InvalidData, InvalidValue

SOH: Final = "\x01"
_PREFIX: Final = b"8=FIX.4.4\x019="
_CHECKSUM_FIELD_SIZE: Final = 7  # "10=" + three digits + SOH
MAX_BODY_LENGTH: Final = 1 << 20
"""Longest body accepted; a larger BodyLength is taken as garbage, not waited for."""


class Tag:
    """Tag numbers used by this package (FIX 4.4 names)."""

    MSG_TYPE = 35
    MSG_SEQ_NUM = 34
    SENDER_COMP_ID = 49
    TARGET_COMP_ID = 56
    SENDING_TIME = 52
    POSS_DUP_FLAG = 43
    ORIG_SENDING_TIME = 122
    BEGIN_SEQ_NO = 7
    END_SEQ_NO = 16
    NEW_SEQ_NO = 36
    GAP_FILL_FLAG = 123
    TEST_REQ_ID = 112
    HEART_BT_INT = 108
    ENCRYPT_METHOD = 98
    RESET_SEQ_NUM_FLAG = 141
    TEXT = 58
    REF_SEQ_NUM = 45
    REF_TAG_ID = 371
    REF_MSG_TYPE = 372
    SESSION_REJECT_REASON = 373
    BUSINESS_REJECT_REF_ID = 379
    BUSINESS_REJECT_REASON = 380
    AVG_PX = 6
    CL_ORD_ID = 11
    CUM_QTY = 14
    EXEC_ID = 17
    EXEC_INST = 18
    LAST_PX = 31
    LAST_QTY = 32
    ORDER_ID = 37
    ORDER_QTY = 38
    ORD_STATUS = 39
    ORD_TYPE = 40
    ORIG_CL_ORD_ID = 41
    PRICE = 44
    SIDE = 54
    SYMBOL = 55
    TIME_IN_FORCE = 59
    TRANSACT_TIME = 60
    STOP_PX = 99
    MAX_FLOOR = 111
    ORD_REJ_REASON = 103
    CXL_REJ_REASON = 102
    EXPIRE_TIME = 126
    LEAVES_QTY = 151
    EXEC_TYPE = 150
    CXL_REJ_RESPONSE_TO = 434
    LAST_LIQUIDITY_IND = 851
    NO_MISC_FEES = 136
    MISC_FEE_AMT = 137
    MISC_FEE_CURR = 138
    MISC_FEE_TYPE = 139
    NO_PARTY_IDS = 453
    PARTY_ID = 448


_SUM_CHUNK: Final = 256
"""Bytes per adler32 call in :func:`byte_sum`: 256 * 255 stays below its modulus 65521."""


def byte_sum(data: bytes | bytearray | memoryview) -> int:
    """The sum of the bytes of ``data``. adler32's low half is 1 + the byte sum modulo 65521,
    exact while a chunk's sum stays below the modulus, so chunks of 256 bytes are summed in C
    (several times faster than ``sum(data)`` on a message)."""
    view = memoryview(data)
    total = 0
    for start in range(0, len(view), _SUM_CHUNK):
        total += (zlib.adler32(view[start : start + _SUM_CHUNK]) & 0xFFFF) - 1
    return total


FieldValue = str | int
Field = tuple[int, FieldValue]


class FixDecodeError(InvalidData):
    """A message that cannot be read. ``code``: ``BAD_BEGIN_STRING``, ``BAD_BODY_LENGTH``,
    ``BAD_CHECKSUM``, ``BAD_FIELD`` (not ``tag=value``), ``MISSING_MSG_TYPE``,
    ``BAD_GROUP_COUNT``. ``seq_num`` is the message's MsgSeqNum when it could still be read
    (a well-framed message with a bad field), so the session can reject it by number."""

    def __init__(self, code: str, message: str, seq_num: int | None = None) -> None:
        super().__init__(code, message)
        self.seq_num = seq_num


class FixMessage:
    """One decoded message: its fields in wire order (header, body; not 8, 9, 10) and an index
    of each tag's first occurrence."""

    __slots__ = ("_first", "fields")

    def __init__(self, fields: list[tuple[int, str]]) -> None:
        self.fields = fields
        # Built from the end, so a repeated tag (in a group) keeps its first value.
        self._first = dict(reversed(fields))

    @property
    def msg_type(self) -> str:
        return self._first[Tag.MSG_TYPE]

    def __contains__(self, tag: int) -> bool:
        return tag in self._first

    def get(self, tag: int) -> str | None:
        """The value of the first field with ``tag``, or None."""
        return self._first.get(tag)

    def require(self, tag: int) -> str:
        """The value of ``tag``; ``InvalidValue`` ``MISSING_TAG`` (with the tag in
        ``ref_tag``) if absent or empty."""
        value = self._first.get(tag)
        if not value:
            raise MissingTag(tag)
        return value

    def require_int(self, tag: int) -> int:
        text = self.require(tag)
        if not text.isdigit():
            raise BadTagValue(tag, text)
        return int(text)

    def group(self, count_tag: int, member_tags: Sequence[int]) -> list[dict[int, str]]:
        """The instances of a repeating group: ``count_tag`` (NoXxx), then instances that
        each begin with ``member_tags[0]`` (the delimiter) and hold only ``member_tags``.
        No count tag gives ``[]``; a count that disagrees with the instances raises
        ``FixDecodeError`` ``BAD_GROUP_COUNT``."""
        fields = self.fields
        members = frozenset(member_tags)
        delimiter = member_tags[0]
        position = next((i for i, (tag, _) in enumerate(fields) if tag == count_tag), None)
        if position is None:
            return []
        value = fields[position][1]
        if not value.isdigit():
            raise FixDecodeError("BAD_GROUP_COUNT", f"group count {count_tag}={value!r}")
        instances: list[dict[int, str]] = []
        for tag, item in fields[position + 1 :]:
            if tag == delimiter:
                instances.append({tag: item})
            elif tag in members and instances and tag not in instances[-1]:
                instances[-1][tag] = item
            else:
                break
        if len(instances) != int(value):
            raise FixDecodeError(
                "BAD_GROUP_COUNT",
                f"group {count_tag} says {value} instances, found {len(instances)}",
            )
        return instances

    def __repr__(self) -> str:
        return "FixMessage(" + "|".join(f"{tag}={value}" for tag, value in self.fields) + ")"


class MissingTag(InvalidValue):
    """A required tag is absent (session reject reason 1)."""

    def __init__(self, tag: int) -> None:
        super().__init__("MISSING_TAG", f"required tag {tag} is missing")
        self.ref_tag = tag


class BadTagValue(InvalidValue):
    """A tag's value has the wrong format or is not allowed (session reject reason 5/6)."""

    def __init__(self, tag: int, value: str) -> None:
        super().__init__("BAD_TAG_VALUE", f"tag {tag} has an incorrect value {value!r}")
        self.ref_tag = tag


def group_fields(count_tag: int, instances: Sequence[Sequence[Field]]) -> list[Field]:
    """The fields of a repeating group to put in a message: the count, then each instance
    (whose first field must be the group's delimiter)."""
    fields: list[Field] = [(count_tag, len(instances))]
    for instance in instances:
        fields.extend(instance)
    return fields


def encode_message(fields: Iterable[Field]) -> bytes:
    """The wire bytes of a message whose fields (MsgType first) are given in order; adds
    BeginString, BodyLength and CheckSum. A value holding SOH raises ``InvalidValue``
    (``SOH_IN_VALUE``)."""
    parts = [f"{tag}={value}\x01" for tag, value in fields]
    body = "".join(parts).encode("latin-1")
    if body.count(b"\x01") != len(parts):
        raise InvalidValue("SOH_IN_VALUE", "a FIX field value contains the SOH delimiter")
    message = b"%s%d\x01%s" % (_PREFIX, len(body), body)
    return b"%s10=%03d\x01" % (message, byte_sum(message) & 0xFF)


def decode_message(data: bytes) -> FixMessage:
    """One complete message (exactly its bytes), checked: BeginString FIX.4.4, BodyLength,
    CheckSum, every field ``tag=value``, MsgType third. Raises ``FixDecodeError``."""
    if not data.startswith(_PREFIX):
        raise FixDecodeError("BAD_BEGIN_STRING", "message does not start with 8=FIX.4.4|9=")
    length_end = data.find(b"\x01", len(_PREFIX))
    length_text = data[len(_PREFIX) : length_end]
    if length_end < 0 or not length_text.isdigit():
        raise FixDecodeError("BAD_BODY_LENGTH", f"BodyLength {length_text!r} is not a number")
    body_start = length_end + 1
    body_end = body_start + int(length_text)
    if len(data) != body_end + _CHECKSUM_FIELD_SIZE or data[body_end : body_end + 3] != b"10=":
        raise FixDecodeError(
            "BAD_BODY_LENGTH", f"BodyLength {int(length_text)} does not frame the message"
        )
    checksum_text = data[body_end + 3 : body_end + 6]
    if not checksum_text.isdigit() or data[-1] != 1:
        raise FixDecodeError("BAD_CHECKSUM", f"CheckSum field {checksum_text!r} is malformed")
    computed = byte_sum(memoryview(data)[:body_end]) & 0xFF
    if computed != int(checksum_text):
        raise FixDecodeError(
            "BAD_CHECKSUM", f"CheckSum {int(checksum_text):03d}, computed {computed:03d}"
        )
    if data[body_end - 1] != 1:
        raise FixDecodeError("BAD_BODY_LENGTH", "body does not end with SOH")
    fields: list[tuple[int, str]] = []
    append = fields.append
    for item in data[body_start : body_end - 1].decode("latin-1").split(SOH):
        tag, separator, value = item.partition("=")
        if not separator or not tag.isdigit():
            raise FixDecodeError("BAD_FIELD", f"field {item!r} is not tag=value")
        append((int(tag), value))
    if not fields or fields[0][0] != Tag.MSG_TYPE or not fields[0][1]:
        raise FixDecodeError("MISSING_MSG_TYPE", "MsgType (35) must be the third field")
    return FixMessage(fields)


class FixStreamParser:
    """Cuts a byte stream into FIX messages.

    :meth:`feed` returns what the new bytes complete: each item a :class:`FixMessage` or the
    :class:`FixDecodeError` of a framed message that failed its checks. Bytes that cannot start
    a message (garbage, a cut-off message followed by a new one) are skipped up to the next
    ``8=FIX.4.4`` and counted in ``garbage_bytes``; nothing before a skipped part is lost.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.garbage_bytes = 0
        self.garbled_messages = 0

    def feed(self, data: bytes) -> list[FixMessage | FixDecodeError]:
        buffer = self._buffer
        buffer.extend(data)
        out: list[FixMessage | FixDecodeError] = []
        while buffer:
            start = buffer.find(_PREFIX)
            if start < 0:
                # Keep a tail that may be the beginning of the next prefix.
                keep = len(_PREFIX) - 1
                if len(buffer) > keep:
                    self._skip(len(buffer) - keep)
                break
            if start:
                self._skip(start)
            length_end = buffer.find(b"\x01", len(_PREFIX))
            if length_end < 0:
                if len(buffer) > len(_PREFIX) + 8:
                    self._drop_frame("BodyLength never ends", out)
                    continue
                break
            length_text = bytes(buffer[len(_PREFIX) : length_end])
            if not length_text.isdigit() or int(length_text) > MAX_BODY_LENGTH:
                self._drop_frame(f"BodyLength {length_text!r} is not a valid number", out)
                continue
            total = length_end + 1 + int(length_text) + _CHECKSUM_FIELD_SIZE
            # A message cut short by a new one: the next prefix before the end.
            cut = buffer.find(_PREFIX, 1, min(total + len(_PREFIX) - 1, len(buffer)))
            if 0 < cut < total:
                self.garbled_messages += 1
                out.append(FixDecodeError("BAD_BODY_LENGTH", "message cut short by the next one"))
                self._skip(cut)
                continue
            if len(buffer) < total:
                break
            frame = bytes(buffer[:total])
            del buffer[:total]
            try:
                out.append(decode_message(frame))
            except FixDecodeError as error:
                self.garbled_messages += 1
                error.seq_num = _peek_seq_num(frame) if error.code == "BAD_FIELD" else None
                out.append(error)
        return out

    def _skip(self, count: int) -> None:
        self.garbage_bytes += count
        del self._buffer[:count]

    def _drop_frame(self, why: str, out: list[FixMessage | FixDecodeError]) -> None:
        self.garbled_messages += 1
        out.append(FixDecodeError("BAD_BODY_LENGTH", why))
        self._skip(len(_PREFIX))


def _peek_seq_num(frame: bytes) -> int | None:
    """MsgSeqNum of a frame whose checksum held but a field is malformed, if readable."""
    position = frame.find(b"\x0134=")
    if position < 0:
        return None
    end = frame.find(b"\x01", position + 4)
    text = frame[position + 4 : end]
    return int(text) if text.isdigit() else None


__all__ = [
    "MAX_BODY_LENGTH",
    "SOH",
    "BadTagValue",
    "Field",
    "FieldValue",
    "FixDecodeError",
    "FixMessage",
    "FixStreamParser",
    "MissingTag",
    "Tag",
    "byte_sum",
    "decode_message",
    "encode_message",
    "group_fields",
]
