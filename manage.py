#!/usr/bin/env python
"""Django's command-line utility (same as the installed ``saleor-loyalty`` command)."""

from saleor_loyalty.cli import main

if __name__ == "__main__":
    main()
