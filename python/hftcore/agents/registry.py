"""The agent registry: which agents exist, their parameters and whether they run; persisted in
SQLite, and applied to the running agents from their next event.

Every change is validated first with the agent class's ``Params`` (a bad value raises
``ConfigError`` naming the field and changes nothing, in the file or in the agent). Records are
msgspec Structs, so an API can return them as JSON as they are.

Running agents are tied to their record with :meth:`AgentRegistry.attach`: an enable, disable
or parameter change is handed to the agent (``Agent.set_enabled`` / ``Agent.reconfigure``) at
once; the node is single-threaded, so the agent sees it from its next callback on.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec

from hftcore.agents.base import Agent
from hftcore.errors import ConfigError, InvalidValue, StoreError
from hftcore.node.strategy import load_strategy_class


class AgentRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    agent_id: str
    path: str
    params: dict[str, Any]
    enabled: bool = True
    version: int = 1
    """Raised by every change."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
    agent_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    params TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    version INTEGER NOT NULL
)
"""


def _validated(path: str, params: dict[str, Any]) -> tuple[type[Agent], dict[str, Any]]:
    cls = load_strategy_class(path)
    if not issubclass(cls, Agent):
        raise ConfigError("NOT_AN_AGENT", f"{path} is not an Agent")
    struct = cls._validate_params(params)
    return cls, msgspec.to_builtins(struct)


class AgentRegistry:
    """Agents by id, stored in the SQLite file ``path`` (``":memory:"`` for none)."""

    def __init__(self, path: str | Path) -> None:
        try:
            self._db = sqlite3.connect(str(path))
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as error:
            raise StoreError("REGISTRY_UNAVAILABLE", f"agent registry {path}: {error}") from None
        self._running: dict[str, Agent] = {}

    def close(self) -> None:
        self._db.close()

    def register(
        self,
        agent_id: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        enabled: bool = True,
    ) -> AgentRecord:
        if not agent_id or "." in agent_id:
            raise InvalidValue(
                "INVALID_AGENT_ID", f"agent id {agent_id!r} must be non-empty, no dots"
            )
        if self._find(agent_id) is not None:
            raise InvalidValue("DUPLICATE_AGENT", f"agent {agent_id!r} is already registered")
        _, checked = _validated(path, params or {})
        record = AgentRecord(agent_id, path, checked, enabled)
        self._write(record)
        return record

    def get(self, agent_id: str) -> AgentRecord:
        record = self._find(agent_id)
        if record is None:
            raise InvalidValue("UNKNOWN_AGENT", f"no agent {agent_id!r} is registered")
        return record

    def list(self) -> list[AgentRecord]:
        rows = self._db.execute(
            "SELECT agent_id, path, params, enabled, version FROM agents ORDER BY agent_id"
        ).fetchall()
        return [self._record(row) for row in rows]

    def set_enabled(self, agent_id: str, enabled: bool) -> AgentRecord:
        record = self.get(agent_id)
        updated = msgspec.structs.replace(record, enabled=enabled, version=record.version + 1)
        self._write(updated)
        running = self._running.get(agent_id)
        if running is not None:
            running.set_enabled(enabled)
        return updated

    def update_params(self, agent_id: str, changes: dict[str, Any]) -> AgentRecord:
        """Merges ``changes`` into the parameters; validated before anything changes."""
        record = self.get(agent_id)
        _, checked = _validated(record.path, {**record.params, **changes})
        running = self._running.get(agent_id)
        if running is not None:
            running.reconfigure(checked)
        updated = msgspec.structs.replace(record, params=checked, version=record.version + 1)
        self._write(updated)
        return updated

    def remove(self, agent_id: str) -> None:
        self.get(agent_id)
        self._db.execute("DELETE FROM agents WHERE agent_id = ?", (agent_id,))
        self._db.commit()
        self._running.pop(agent_id, None)

    def build(self, agent_id: str) -> Agent:
        """A new agent from its record (add it to a node), attached to the registry."""
        record = self.get(agent_id)
        cls, _ = _validated(record.path, record.params)
        agent = cls(agent_id, record.params)
        agent.set_enabled(record.enabled)
        self.attach(agent)
        return agent

    def attach(self, agent: Agent) -> None:
        """Changes to ``agent``'s record now reach it."""
        self.get(agent.strategy_id)
        self._running[agent.strategy_id] = agent

    def _find(self, agent_id: str) -> AgentRecord | None:
        row = self._db.execute(
            "SELECT agent_id, path, params, enabled, version FROM agents WHERE agent_id = ?",
            (agent_id,),
        ).fetchone()
        return None if row is None else self._record(row)

    @staticmethod
    def _record(row: tuple[Any, ...]) -> AgentRecord:
        agent_id, path, params, enabled, version = row
        try:
            decoded = msgspec.json.decode(params, type=dict[str, Any])
        except msgspec.DecodeError as error:
            raise StoreError("CORRUPT_REGISTRY", f"agent {agent_id!r}: {error}") from None
        return AgentRecord(agent_id, path, decoded, bool(enabled), version)

    def _write(self, record: AgentRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO agents (agent_id, path, params, enabled, version) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                record.agent_id,
                record.path,
                msgspec.json.encode(record.params).decode(),
                int(record.enabled),
                record.version,
            ),
        )
        self._db.commit()
