"""Strategies shipped inside the package (so a plain install can run the demo); more ready
strategies live in the repository's ``strategies/`` folder and load by path."""
