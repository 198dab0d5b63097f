"""The points (and, later, money) ledger: accounts, immutable transfers, lots. See ``models`` for the design."""
