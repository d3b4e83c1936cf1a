"""How fetched posts become a training set: ``clean`` (rules and counts), ``build`` (split, balance, write)."""
