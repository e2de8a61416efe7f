"""Execution algorithms (TWAP, VWAP, POV, iceberg), implementation shortfall and smart order
routing, all as strategies on the node's OMS (``docs/execution.md``)."""
