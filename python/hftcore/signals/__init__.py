"""Signals shared by agents: indicators, market regimes, news sentiment."""
