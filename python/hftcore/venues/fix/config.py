"""FIX session configuration as msgspec Structs (decodable from TOML/JSON)."""

from __future__ import annotations

import msgspec

from hftcore.errors import ConfigError


class FixSessionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One FIX 4.4 session, seen from our side.

    ``sender_comp_id`` is our CompID (tag 49 on what we send), ``target_comp_id`` the
    counterparty's. ``heartbeat_interval`` (seconds, HeartBtInt) is proposed by the initiator
    and taken from its Logon by the acceptor. ``reset_on_logon`` sends ResetSeqNumFlag=Y and
    starts both sequence numbers at 1 (otherwise they continue from the store). ``data_dir``
    holds the sequence store; None keeps it in memory. ``host``/``port`` are where an
    initiator connects (an acceptor ignores them); ``reconnect_interval`` (s) is its pause
    between attempts; ``logon_timeout`` (s) how long either side waits for a Logon answer.
    """

    sender_comp_id: str
    target_comp_id: str
    heartbeat_interval: int = 30
    reset_on_logon: bool = False
    data_dir: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    reconnect_interval: float = 5.0
    logon_timeout: float = 10.0

    def __post_init__(self) -> None:
        for field in ("sender_comp_id", "target_comp_id"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value or "\x01" in value:
                raise ConfigError("INVALID_COMP_ID", f"{field} must be a non-empty CompID")
        if self.sender_comp_id == self.target_comp_id:
            raise ConfigError("INVALID_COMP_ID", "sender_comp_id equals target_comp_id")
        if type(self.heartbeat_interval) is not int or self.heartbeat_interval <= 0:
            raise ConfigError(
                "INVALID_HEARTBEAT_INTERVAL",
                f"heartbeat_interval must be a positive int (s), got {self.heartbeat_interval!r}",
            )
        if type(self.port) is not int or not 0 <= self.port <= 65535:
            raise ConfigError("INVALID_PORT", f"port must be in [0, 65535], got {self.port!r}")
        for field in ("reconnect_interval", "logon_timeout"):
            value = getattr(self, field)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                raise ConfigError("INVALID_CONFIG", f"{field} must be > 0 seconds, got {value!r}")


__all__ = ["FixSessionConfig"]
