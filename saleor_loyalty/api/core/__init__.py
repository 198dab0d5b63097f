"""What every part of both APIs shares: global ids, money, page info."""
