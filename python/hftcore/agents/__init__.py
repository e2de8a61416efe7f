"""Agents: strategies that form a view (a :class:`~hftcore.agents.base.Signal`) and trade it as
a target position, on the node's Strategy API (backtest, paper and live alike). See
``docs/agents.md``."""
