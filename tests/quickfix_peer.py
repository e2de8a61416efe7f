"""QuickFIX (the C++ engine, from PyPI) as the independent counterparty of our FIX code.

:class:`QuickfixPeer` is a QuickFIX ``Application`` that records what its engine delivers and,
as a venue (``venue=True``), answers NewOrderSingle / OrderCancelRequest /
OrderCancelReplaceRequest with ExecutionReports built field by field through QuickFIX's own API.
QuickFIX validates every message it receives against its FIX 4.4 data dictionary. The engines
are polled from the asyncio loop (see :class:`Engine`); tests wait with :func:`wait_until`.
"""

from __future__ import annotations

# QuickFIX calls its Application back by camelCase names (onCreate, fromApp, ...).
# ruff: noqa: N802
import asyncio
import contextlib
import itertools
import sys
from dataclasses import dataclass, field
from pathlib import Path

import quickfix as fix

DATA_DICTIONARY = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"
RECORDED_TAGS = (7, 11, 14, 16, 17, 31, 32, 36, 37, 38, 39, 41, 44, 54, 55, 58, 123, 150, 151)


def write_settings(
    directory: Path,
    *,
    connection_type: str,
    sender: str,
    target: str,
    port: int,
    heartbeat: int = 30,
    reconnect_interval: int = 1,
) -> Path:
    """A QuickFIX settings file with a file store (sequence numbers survive a restart)."""
    if not DATA_DICTIONARY.exists():
        raise AssertionError(f"QuickFIX data dictionary missing: {DATA_DICTIONARY}")
    directory.mkdir(parents=True, exist_ok=True)
    socket_lines = (
        f"SocketAcceptPort={port}\nSocketAcceptHost=127.0.0.1\n"
        if connection_type == "acceptor"
        else f"SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n"
        f"ReconnectInterval={reconnect_interval}\n"
    )
    text = (
        "[DEFAULT]\n"
        f"ConnectionType={connection_type}\n"
        "StartTime=00:00:00\nEndTime=00:00:00\n"
        f"FileStorePath={directory / 'store'}\n"
        "UseDataDictionary=Y\n"
        f"DataDictionary={DATA_DICTIONARY}\n"
        f"HeartBtInt={heartbeat}\n"
        f"{socket_lines}"
        "[SESSION]\nBeginString=FIX.4.4\n"
        f"SenderCompID={sender}\nTargetCompID={target}\n"
    )
    path = directory / f"{connection_type}.cfg"
    path.write_text(text)
    return path


@dataclass
class Received:
    msg_type: str
    seq: int
    possible_duplicate: bool
    fields: dict[int, str] = field(default_factory=dict)


class QuickfixPeer(fix.Application):  # type: ignore[misc]
    def __init__(self, *, venue: bool) -> None:
        super().__init__()
        self.venue = venue
        self.app_messages: list[Received] = []
        self.admin_messages: list[Received] = []
        self.logons = 0
        self.logouts = 0
        self.session_id: fix.SessionID | None = None
        self._ids = itertools.count(1)
        self.orders: dict[str, dict[int, str]] = {}

    # ----- QuickFIX callbacks -------------------------------------------------------------

    def onCreate(self, session_id: fix.SessionID) -> None:
        self.session_id = session_id

    def onLogon(self, session_id: fix.SessionID) -> None:
        self.logons += 1

    def onLogout(self, session_id: fix.SessionID) -> None:
        self.logouts += 1

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        self.admin_messages.append(_received(message))

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        received = _received(message)
        self.app_messages.append(received)
        if self.venue and not received.possible_duplicate:
            self._answer(received)

    # ----- queries ------------------------------------------------------------------------

    def messages(self, msg_type: str) -> list[Received]:
        return [m for m in self.app_messages if m.msg_type == msg_type]

    def admin(self, msg_type: str) -> list[Received]:
        return [m for m in self.admin_messages if m.msg_type == msg_type]

    def logged_on(self) -> bool:
        return (
            self.session_id is not None and fix.Session.lookupSession(self.session_id).isLoggedOn()
        )

    # ----- sending ------------------------------------------------------------------------

    def send(self, msg_type: str, fields: list[tuple[int, str]]) -> None:
        message = fix.Message()
        message.getHeader().setField(fix.BeginString("FIX.4.4"))
        message.getHeader().setField(fix.MsgType(msg_type))
        for tag, value in fields:
            message.setField(tag, value)
        fix.Session.sendToTarget(message, self.session_id)

    def new_order(self, cl_ord_id: str, side: str, quantity: str, price: str, symbol: str) -> None:
        self.send(
            "D",
            [
                (11, cl_ord_id),
                (55, symbol),
                (54, side),
                (60, _now()),
                (38, quantity),
                (40, "2"),
                (44, price),
                (59, "1"),
            ],
        )

    def report(
        self, order: dict[int, str], exec_type: str, status: str, extra: list[tuple[int, str]]
    ) -> None:
        self.send(
            "8",
            [
                (37, order[37]),
                (11, order[11]),
                (17, f"QF-EXEC-{next(self._ids)}"),
                (150, exec_type),
                (39, status),
                (55, order[55]),
                (54, order[54]),
                (38, order[38]),
                (60, _now()),
                *extra,
            ],
        )

    def fill(self, cl_ord_id: str, quantity: str, price: str, leaves: str, cum: str) -> None:
        order = self.orders[cl_ord_id]
        self.report(
            order,
            "F",
            "2" if leaves == "0" else "1",
            [(32, quantity), (31, price), (151, leaves), (14, cum), (6, price), (851, "1")],
        )

    def _answer(self, received: Received) -> None:
        fields = received.fields
        if received.msg_type == "D":
            order = dict(fields)
            order[37] = f"QF-ORDER-{next(self._ids)}"
            self.orders[order[11]] = order
            self.report(order, "0", "0", [(44, order[44]), (151, order[38]), (14, "0"), (6, "0")])
        elif received.msg_type in ("F", "G"):
            order = self.orders[fields[41]]
            self.orders[fields[11]] = order
            order[11] = fields[11]
            if received.msg_type == "F":
                self.report(order, "4", "4", [(41, fields[41]), (151, "0"), (14, "0"), (6, "0")])
            else:
                order[38], order[44] = fields[38], fields[44]
                self.report(
                    order,
                    "5",
                    "0",
                    [(41, fields[41]), (44, order[44]), (151, order[38]), (14, "0"), (6, "0")],
                )


def _received(message: fix.Message) -> Received:
    header = message.getHeader()
    fields = {tag: message.getField(tag) for tag in RECORDED_TAGS if message.isSetField(tag)}
    return Received(
        msg_type=header.getField(35),
        seq=int(header.getField(34)),
        possible_duplicate=header.isSetField(43) and header.getField(43) == "Y",
        fields=fields,
    )


def _now() -> str:
    return str(fix.TransactTime().getString())


class Engine:
    """A QuickFIX acceptor or initiator driven from the asyncio loop's thread.

    QuickFIX 1.16's threaded mode (``start()``) races with ``stop()`` (SocketServer::close
    iterates a map its thread changes, and crashes), so the engine is never started in a thread
    of its own: :meth:`run` calls ``poll()`` every few milliseconds, QuickFIX's callbacks run on
    the loop's thread, and ``stop(True)`` runs there too. The C++ engine keeps raw pointers to
    its settings, store factory and application: they live as long as this object.
    """

    def __init__(self, settings_path: Path, peer: QuickfixPeer, *, acceptor: bool) -> None:
        self.peer = peer
        self.settings = fix.SessionSettings(str(settings_path))
        self.store = fix.FileStoreFactory(self.settings)
        kind = fix.SocketAcceptor if acceptor else fix.SocketInitiator
        self.engine = kind(peer, self.store, self.settings)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.engine.poll()  # the first poll binds the acceptor's port / starts connecting
        self._task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            self.engine.poll()
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stops polling and closes every connection (no Logout: the tests log out first
        when they want one)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.engine.stop(True)


def start_engine(settings_path: Path, peer: QuickfixPeer, *, acceptor: bool) -> Engine:
    """A polled QuickFIX engine; call from inside the running loop."""
    engine = Engine(settings_path, peer, acceptor=acceptor)
    engine.start()
    return engine
