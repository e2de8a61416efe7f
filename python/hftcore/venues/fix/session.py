"""The FIX 4.4 session layer on asyncio streams, shared by the initiator and the acceptor.

A :class:`FixSession` is one logical session (a SenderCompID/TargetCompID pair with its
sequence numbers in a :class:`FixSessionStore`); it lives across TCP connections. Each
connection runs :meth:`FixSession.run_connection` until it closes. The session does:

* Logon (with ResetSeqNumFlag when configured or asked), Logout both ways;
* Heartbeat every HeartBtInt without traffic; a TestRequest after HeartBtInt * 1.2 of silence
  and a disconnect if it is not answered within another HeartBtInt;
* sequence numbers: a message above the expected number leaves a gap, answered with one
  ResendRequest (BeginSeqNo = expected, EndSeqNo = 0) while the later messages are ignored
  until the resent ones arrive; one below it without PossDupFlag=Y ends the session (Logout,
  "MsgSeqNum too low"), with PossDupFlag=Y it is a duplicate and ignored;
* a ResendRequest from the counterparty is answered from the store: application messages
  again with PossDupFlag=Y and OrigSendingTime, session messages replaced by
  SequenceReset-GapFill; SequenceReset-GapFill and SequenceReset-Reset are applied;
* session-level Reject (35=3) of a well-framed message that is wrong (a required tag missing,
  a bad value, an unknown MsgType, a wrong CompID, no OrigSendingTime on a possible duplicate);
  garbled bytes (no frame, bad BodyLength or CheckSum) are counted, logged and dropped without
  touching the sequence numbers, so the next good message reveals the gap and the resend
  recovers what was lost.

Application messages go to the :class:`FixApplication`; raising :class:`MissingTag`,
:class:`BadTagValue` or :class:`UnsupportedMessageType` from it turns into a session Reject.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from hftcore.errors import HftcoreError, InvalidValue
from hftcore.venues.fix.codec import (
    BadTagValue,
    Field,
    FixDecodeError,
    FixMessage,
    FixStreamParser,
    MissingTag,
    Tag,
    decode_message,
    encode_message,
)
from hftcore.venues.fix.config import FixSessionConfig
from hftcore.venues.fix.store import FixSessionStore

logger = logging.getLogger(__name__)

ADMIN_TYPES: Final = frozenset({"0", "1", "2", "3", "4", "5", "A"})
"""Session-level MsgTypes: Heartbeat, TestRequest, ResendRequest, Reject, SequenceReset,
Logout, Logon. They are never resent (a resend replaces them with a gap fill)."""


class SessionRejectReason:
    """SessionRejectReason (373) codes used here."""

    REQUIRED_TAG_MISSING = 1
    TAG_WITHOUT_VALUE = 4
    VALUE_INCORRECT = 5
    INCORRECT_DATA_FORMAT = 6
    COMP_ID_PROBLEM = 9
    INVALID_MSG_TYPE = 11
    INCORRECT_NUM_IN_GROUP_COUNT = 16


class UnsupportedMessageType(InvalidValue):
    """An application message type this side does not handle (Reject reason 11)."""

    def __init__(self, msg_type: str) -> None:
        super().__init__("UNSUPPORTED_MSG_TYPE", f"MsgType {msg_type!r} is not supported here")


class FixApplication:
    """Receives what a session delivers. Subclasses override what they need."""

    def on_logon(self, session: FixSession) -> None:
        """The session is logged on: application messages may be sent."""

    def on_logout(self, session: FixSession) -> None:
        """The connection ended (Logout or dropped)."""

    def on_message(
        self, session: FixSession, message: FixMessage, possible_duplicate: bool
    ) -> None:
        """An application message, in sequence. ``possible_duplicate``: PossDupFlag=Y (a
        resend; the application may have seen it already)."""
        raise UnsupportedMessageType(message.msg_type)

    def on_session_reject(self, session: FixSession, message: FixMessage) -> None:
        """The counterparty rejected one of our messages at session level (35=3); RefSeqNum
        (45) names it. The session has counted and logged it already."""


@dataclass(slots=True)
class FixSessionStats:
    """Counters of one session since it was created."""

    messages_received: int = 0
    messages_sent: int = 0
    garbled_messages: int = 0
    garbage_bytes: int = 0
    rejects_sent: int = 0
    rejects_received: int = 0
    resend_requests_sent: int = 0
    resend_requests_received: int = 0
    messages_resent: int = 0
    gap_fills_sent: int = 0
    gap_fills_received: int = 0
    duplicates_ignored: int = 0
    test_requests_sent: int = 0
    heartbeat_timeouts: int = 0


def utc_timestamp(ts_ns: int) -> str:
    """FIX UTCTimestamp with milliseconds, ``YYYYMMDD-HH:MM:SS.sss``."""
    seconds, remainder = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds)) + f".{remainder // 1_000_000:03d}"


def parse_utc_timestamp(text: str) -> int:
    """ns since the epoch of a FIX UTCTimestamp (``YYYYMMDD-HH:MM:SS`` with 0, 3, 6 or 9
    fraction digits); ``InvalidValue`` ``BAD_TIMESTAMP`` otherwise."""
    whole, _, fraction = text.partition(".")
    if len(whole) != 17 or len(fraction) not in (0, 3, 6, 9) or not (fraction or "0").isdigit():
        raise InvalidValue("BAD_TIMESTAMP", f"{text!r} is not a FIX UTCTimestamp")
    try:
        moment = datetime.strptime(whole, "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidValue("BAD_TIMESTAMP", f"{text!r} is not a FIX UTCTimestamp") from None
    return int(moment.timestamp()) * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


class FixSession:
    """One FIX session over successive connections (see the module doc)."""

    def __init__(
        self,
        config: FixSessionConfig,
        application: FixApplication,
        *,
        store: FixSessionStore | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.application = application
        self.store = (
            FixSessionStore(config.data_dir, config.sender_comp_id, config.target_comp_id)
            if store is None
            else store
        )
        self.clock_ns = clock_ns
        self.stats = FixSessionStats()
        self.heartbeat_interval = config.heartbeat_interval
        self._writer: asyncio.StreamWriter | None = None
        self._logged_on = False
        self._logon_sent = False
        self._logout_sent = False
        self._resend_until: int | None = None
        """While a ResendRequest of ours is being answered: the highest number seen above the
        expected one (the request is done once the expected number passes it)."""
        self._resend_requested_at = 0.0
        self._test_request_id: str | None = None
        self._test_request_sent_at = 0.0
        self._test_request_counter = 0
        self._last_received = 0.0
        self._last_sent = 0.0
        self.logged_on_event = asyncio.Event()
        self.disconnected_event = asyncio.Event()
        self.disconnected_event.set()

    # ----- state ------------------------------------------------------------------------------

    @property
    def logged_on(self) -> bool:
        return self._logged_on

    @property
    def connected(self) -> bool:
        return self._writer is not None

    @property
    def next_sender_seq(self) -> int:
        return self.store.next_sender_seq

    @property
    def next_target_seq(self) -> int:
        return self.store.next_target_seq

    # ----- sending ----------------------------------------------------------------------------

    def send(self, msg_type: str, body: Sequence[Field]) -> int:
        """Sends an application message (or stores it for a resend when not connected: the
        counterparty sees the gap at the next logon and asks for it). Returns its MsgSeqNum."""
        seq = self.store.next_sender_seq
        raw = self._encode(msg_type, seq, body)
        self.store.record_sent(seq, raw)
        if self._logged_on:
            self._write(raw)
        return seq

    def _send_admin(self, msg_type: str, body: Sequence[Field] = ()) -> None:
        seq = self.store.next_sender_seq
        raw = self._encode(msg_type, seq, body)
        self.store.record_sent(seq, raw)
        self._write(raw)

    def _encode(
        self, msg_type: str, seq: int, body: Sequence[Field], extra_header: Sequence[Field] = ()
    ) -> bytes:
        return encode_message(
            [
                (Tag.MSG_TYPE, msg_type),
                (Tag.SENDER_COMP_ID, self.config.sender_comp_id),
                (Tag.TARGET_COMP_ID, self.config.target_comp_id),
                (Tag.MSG_SEQ_NUM, seq),
                *extra_header,
                (Tag.SENDING_TIME, utc_timestamp(self.clock_ns())),
                *body,
            ]
        )

    def _write(self, raw: bytes) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        writer.write(raw)
        self.stats.messages_sent += 1
        self._last_sent = time.monotonic()

    def send_reject(
        self, ref_seq: int, reason: int, text: str, ref_tag: int | None, ref_msg_type: str | None
    ) -> None:
        body: list[Field] = [(Tag.REF_SEQ_NUM, ref_seq)]
        if ref_tag is not None:
            body.append((Tag.REF_TAG_ID, ref_tag))
        if ref_msg_type is not None:
            body.append((Tag.REF_MSG_TYPE, ref_msg_type))
        body += [(Tag.SESSION_REJECT_REASON, reason), (Tag.TEXT, text)]
        self.stats.rejects_sent += 1
        logger.warning("%s: reject of message %d: %s", self.config.sender_comp_id, ref_seq, text)
        self._send_admin("3", body)

    # ----- connections ------------------------------------------------------------------------

    async def run_connection(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        initiate: bool,
        parser: FixStreamParser | None = None,
        first_items: Sequence[FixMessage | FixDecodeError] = (),
    ) -> None:
        """Runs one connection until it closes. ``initiate``: send our Logon first (the
        initiator); the acceptor passes the already-read first items and their ``parser``."""
        if self._writer is not None:
            writer.close()
            raise InvalidValue("ALREADY_CONNECTED", "this FIX session already has a connection")
        self._writer = writer
        self.disconnected_event.clear()
        self._logged_on = self._logon_sent = self._logout_sent = False
        self._resend_until = None
        self._test_request_id = None
        self._last_received = self._last_sent = time.monotonic()
        stream = FixStreamParser() if parser is None else parser
        timer = asyncio.create_task(self._timer())
        try:
            if initiate:
                self._send_logon(reset=self.config.reset_on_logon)
            self._handle_all(first_items, stream)
            while not writer.is_closing():
                data = await reader.read(65536)
                if not data:
                    break
                self._handle_all(stream.feed(data), stream)
                if not writer.is_closing():
                    await writer.drain()
        except (ConnectionError, OSError) as error:
            logger.warning("%s: connection lost: %s", self.config.sender_comp_id, error)
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
            was_logged_on = self._logged_on
            self._logged_on = False
            self._writer = None
            self.logged_on_event.clear()
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            self.disconnected_event.set()
            if was_logged_on:
                self.application.on_logout(self)

    async def logout(self, text: str = "", timeout: float | None = None) -> None:
        """Sends Logout and waits (at most ``timeout`` s, default the logon timeout) for the
        counterparty's Logout and the end of the connection."""
        if self._writer is None:
            return
        if not self._logout_sent:
            self._logout_sent = True
            self._send_admin("5", [(Tag.TEXT, text)] if text else [])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self.disconnected_event.wait(),
                self.config.logon_timeout if timeout is None else timeout,
            )
        self.disconnect()

    def disconnect(self) -> None:
        """Drops the connection at once (no Logout)."""
        if self._writer is not None:
            self._writer.transport.abort()

    def _send_logon(self, reset: bool) -> None:
        if reset:
            self.store.reset()
        body: list[Field] = [(Tag.ENCRYPT_METHOD, 0), (Tag.HEART_BT_INT, self.heartbeat_interval)]
        if reset:
            body.append((Tag.RESET_SEQ_NUM_FLAG, "Y"))
        self._logon_sent = True
        self._send_admin("A", body)

    async def _timer(self) -> None:
        """Heartbeats, test requests and the silence timeout."""
        while True:
            await asyncio.sleep(min(1.0, self.heartbeat_interval / 4))
            now = time.monotonic()
            if not self._logged_on:
                if now - self._last_received > self.config.logon_timeout:
                    logger.warning("%s: no Logon in time", self.config.sender_comp_id)
                    self.disconnect()
                continue
            interval = self.heartbeat_interval
            if now - self._last_sent >= interval:
                self._send_admin("0")
            if self._test_request_id is not None:
                if now - self._test_request_sent_at > interval:
                    self.stats.heartbeat_timeouts += 1
                    logger.warning("%s: TestRequest unanswered", self.config.sender_comp_id)
                    self.disconnect()
            elif now - self._last_received > interval * 1.2:
                self._test_request_counter += 1
                self._test_request_id = f"TEST-{self._test_request_counter}"
                self._test_request_sent_at = now
                self.stats.test_requests_sent += 1
                self._send_admin("1", [(Tag.TEST_REQ_ID, self._test_request_id)])

    # ----- receiving --------------------------------------------------------------------------

    def _handle_all(
        self, items: Sequence[FixMessage | FixDecodeError], stream: FixStreamParser
    ) -> None:
        for item in items:
            if self._writer is None or self._writer.is_closing():
                return
            self._last_received = time.monotonic()
            if isinstance(item, FixDecodeError):
                self._on_garbled(item)
            else:
                self.stats.messages_received += 1
                self._on_message(item)
        self.stats.garbage_bytes = stream.garbage_bytes

    def _on_garbled(self, error: FixDecodeError) -> None:
        self.stats.garbled_messages += 1
        logger.warning("%s: garbled message dropped: %s", self.config.sender_comp_id, error)
        # A well-framed message with a malformed field is rejected by number when it is the
        # one expected; anything else waits for the gap it leaves to be resent.
        if error.seq_num is not None and error.seq_num == self.store.next_target_seq:
            self.send_reject(
                error.seq_num, SessionRejectReason.INCORRECT_DATA_FORMAT, error.message, None, None
            )
            self.store.set_next_target_seq(error.seq_num + 1)

    def _on_message(self, message: FixMessage) -> None:
        msg_type = message.msg_type
        seq_text = message.get(Tag.MSG_SEQ_NUM)
        if seq_text is None or not seq_text.isdigit():
            self._fatal(f"MsgSeqNum missing or malformed ({seq_text!r})")
            return
        seq = int(seq_text)
        if (
            message.get(Tag.SENDER_COMP_ID) != self.config.target_comp_id
            or message.get(Tag.TARGET_COMP_ID) != self.config.sender_comp_id
        ):
            self.send_reject(
                seq, SessionRejectReason.COMP_ID_PROBLEM, "CompID problem", None, msg_type
            )
            self._fatal("CompID problem")
            return
        if not self._logged_on:
            if msg_type == "5":
                logger.error(
                    "%s: Logout before logon: %s", self.config.sender_comp_id, message.get(Tag.TEXT)
                )
                self._on_logout()
                return
            if msg_type != "A":
                self._fatal(f"first message is MsgType {msg_type!r}, not Logon")
                return
            self._on_logon(message, seq)
            return
        if msg_type == "4" and message.get(Tag.GAP_FILL_FLAG) != "Y":
            self._on_sequence_reset(message, seq)
            return
        possible_duplicate = message.get(Tag.POSS_DUP_FLAG) == "Y"
        expected = self.store.next_target_seq
        if seq > expected:
            if msg_type == "2":
                self._serve_resend(message, seq)
            if msg_type == "5":
                self._fatal("Logout received during a sequence gap")
                return
            self._request_resend(expected, seq)
            return
        if seq < expected:
            if possible_duplicate:
                self.stats.duplicates_ignored += 1
                return
            self._fatal(f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return
        if possible_duplicate and Tag.ORIG_SENDING_TIME not in message:
            self.send_reject(
                seq,
                SessionRejectReason.REQUIRED_TAG_MISSING,
                "OrigSendingTime missing on a possible duplicate",
                Tag.ORIG_SENDING_TIME,
                msg_type,
            )
            self._advance_target(seq + 1)
            return
        next_seq = seq + 1
        try:
            match msg_type:
                case "0":
                    if message.get(Tag.TEST_REQ_ID) == self._test_request_id:
                        self._test_request_id = None
                case "1":
                    self._send_admin("0", [(Tag.TEST_REQ_ID, message.require(Tag.TEST_REQ_ID))])
                case "2":
                    self._serve_resend(message, seq)
                case "3":
                    self.stats.rejects_received += 1
                    logger.warning(
                        "%s: counterparty rejected message %s: %s",
                        self.config.sender_comp_id,
                        message.get(Tag.REF_SEQ_NUM),
                        message.get(Tag.TEXT),
                    )
                    self.application.on_session_reject(self, message)
                case "4":
                    next_seq = self._gap_fill_target(message, seq)
                case "5":
                    self._advance_target(next_seq)
                    self._on_logout()
                    return
                case "A":
                    raise UnsupportedMessageType("A")
                case _:
                    self.application.on_message(self, message, possible_duplicate)
        except MissingTag as error:
            self.send_reject(
                seq,
                SessionRejectReason.REQUIRED_TAG_MISSING,
                error.message,
                error.ref_tag,
                msg_type,
            )
        except BadTagValue as error:
            self.send_reject(
                seq, SessionRejectReason.VALUE_INCORRECT, error.message, error.ref_tag, msg_type
            )
        except UnsupportedMessageType as error:
            self.send_reject(
                seq, SessionRejectReason.INVALID_MSG_TYPE, error.message, None, msg_type
            )
        except FixDecodeError as error:  # a repeating group whose count is wrong
            self.send_reject(
                seq, SessionRejectReason.INCORRECT_NUM_IN_GROUP_COUNT, error.message, None, msg_type
            )
        except HftcoreError as error:
            # Anything else the application cannot take: refused, the session goes on.
            self.send_reject(seq, SessionRejectReason.VALUE_INCORRECT, str(error), None, msg_type)
        self._advance_target(next_seq)

    def _advance_target(self, seq: int) -> None:
        self.store.set_next_target_seq(seq)
        if self._resend_until is not None and seq > self._resend_until:
            self._resend_until = None

    def _on_logon(self, message: FixMessage, seq: int) -> None:
        interval_text = message.get(Tag.HEART_BT_INT)
        if interval_text is None or not interval_text.isdigit() or int(interval_text) <= 0:
            self._fatal(f"Logon with HeartBtInt {interval_text!r}")
            return
        reset = message.get(Tag.RESET_SEQ_NUM_FLAG) == "Y"
        if not self._logon_sent:
            # Acceptor: the initiator's interval rules; answer with our Logon.
            self.heartbeat_interval = int(interval_text)
            if reset:
                self.store.reset()
            self._send_logon(reset=reset)
        elif reset and seq == 1:
            self.store.set_next_target_seq(1)
        expected = self.store.next_target_seq
        if seq < expected:
            self._fatal(f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return
        self._logged_on = True
        self.logged_on_event.set()
        logger.info(
            "%s: logged on to %s (in %d, out %d)",
            self.config.sender_comp_id,
            self.config.target_comp_id,
            seq,
            self.store.next_sender_seq,
        )
        if seq > expected:
            self._request_resend(expected, seq)
        else:
            self._advance_target(seq + 1)
        self.application.on_logon(self)

    def _on_logout(self) -> None:
        if not self._logout_sent:
            self._logout_sent = True
            self._send_admin("5")
        if self._writer is not None:
            self._writer.close()

    def _fatal(self, text: str) -> None:
        logger.error("%s: %s; logging out", self.config.sender_comp_id, text)
        if self._logged_on or self._logon_sent:
            self._logout_sent = True
            self._send_admin("5", [(Tag.TEXT, text)])
        if self._writer is not None:
            self._writer.close()

    def _request_resend(self, expected: int, received: int) -> None:
        # Our request runs to EndSeqNo=0 (infinity): every message that arrives before its
        # answer was sent before the counterparty read it, so the answer covers it. Ask again
        # only if the answer is overdue (a heartbeat interval without it).
        now = time.monotonic()
        if (
            self._resend_until is not None
            and now - self._resend_requested_at < self.heartbeat_interval
        ):
            self._resend_until = max(self._resend_until, received)
            return
        self._resend_until = received
        self._resend_requested_at = now
        self.stats.resend_requests_sent += 1
        logger.info(
            "%s: gap %d..%d, resend requested", self.config.sender_comp_id, expected, received - 1
        )
        self._send_admin("2", [(Tag.BEGIN_SEQ_NO, expected), (Tag.END_SEQ_NO, 0)])

    def _gap_fill_target(self, message: FixMessage, seq: int) -> int:
        new_seq = message.require_int(Tag.NEW_SEQ_NO)
        if new_seq <= seq:
            raise BadTagValue(Tag.NEW_SEQ_NO, str(new_seq))
        self.stats.gap_fills_received += 1
        return new_seq

    def _on_sequence_reset(self, message: FixMessage, seq: int) -> None:
        """SequenceReset-Reset: the next expected number is NewSeqNo, whatever MsgSeqNum."""
        try:
            new_seq = message.require_int(Tag.NEW_SEQ_NO)
        except (MissingTag, BadTagValue) as error:
            self.send_reject(seq, SessionRejectReason.VALUE_INCORRECT, error.message, None, "4")
            return
        expected = self.store.next_target_seq
        if new_seq < expected:
            self.send_reject(
                seq,
                SessionRejectReason.VALUE_INCORRECT,
                f"NewSeqNo {new_seq} is below the expected {expected}",
                Tag.NEW_SEQ_NO,
                "4",
            )
            return
        logger.warning("%s: SequenceReset to %d", self.config.sender_comp_id, new_seq)
        self._advance_target(new_seq)

    def _serve_resend(self, message: FixMessage, seq: int) -> None:
        """Answers a ResendRequest: kept application messages with PossDupFlag=Y, session
        messages and missing ones as SequenceReset-GapFill."""
        begin = message.require_int(Tag.BEGIN_SEQ_NO)
        end = message.require_int(Tag.END_SEQ_NO)
        if begin < 1:
            raise BadTagValue(Tag.BEGIN_SEQ_NO, str(begin))
        if end != 0 and end < begin:
            raise BadTagValue(Tag.END_SEQ_NO, str(end))
        last = self.store.next_sender_seq - 1
        if end == 0 or end > last:
            end = last
        self.stats.resend_requests_received += 1
        logger.info("%s: resending %d..%d", self.config.sender_comp_id, begin, end)
        kept = self.store.sent_messages(begin, end)
        gap_start: int | None = None
        for number in range(begin, end + 1):
            raw = kept.get(number)
            original = decode_message(raw) if raw is not None else None
            if original is None or original.msg_type in ADMIN_TYPES:
                if gap_start is None:
                    gap_start = number
                continue
            if gap_start is not None:
                self._send_gap_fill(gap_start, number)
                gap_start = None
            self._resend(original, number)
        if gap_start is not None:
            self._send_gap_fill(gap_start, end + 1)

    def _send_gap_fill(self, seq: int, new_seq: int) -> None:
        self.stats.gap_fills_sent += 1
        self._write(
            self._encode(
                "4",
                seq,
                [(Tag.GAP_FILL_FLAG, "Y"), (Tag.NEW_SEQ_NO, new_seq)],
                [(Tag.POSS_DUP_FLAG, "Y")],
            )
        )

    def _resend(self, original: FixMessage, seq: int) -> None:
        body = [
            (tag, value)
            for tag, value in original.fields
            if tag
            not in (
                Tag.MSG_TYPE,
                Tag.SENDER_COMP_ID,
                Tag.TARGET_COMP_ID,
                Tag.MSG_SEQ_NUM,
                Tag.SENDING_TIME,
                Tag.POSS_DUP_FLAG,
                Tag.ORIG_SENDING_TIME,
            )
        ]
        header: list[Field] = [
            (Tag.POSS_DUP_FLAG, "Y"),
            (Tag.ORIG_SENDING_TIME, original.require(Tag.SENDING_TIME)),
        ]
        self.stats.messages_resent += 1
        self._write(self._encode(original.msg_type, seq, body, header))


__all__ = [
    "ADMIN_TYPES",
    "FixApplication",
    "FixSession",
    "FixSessionStats",
    "SessionRejectReason",
    "UnsupportedMessageType",
    "parse_utc_timestamp",
    "utc_timestamp",
]
