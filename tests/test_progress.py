"""``core.progress.Progress``: redrawn in place on a terminal, a line per tenth into a log."""

import io

from django.core.management.base import OutputWrapper

from saleor_loyalty.core.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_into_a_log_it_writes_a_line_at_every_tenth_of_the_way():
    log = io.StringIO()
    progress = Progress(OutputWrapper(log), 1000, "periods")
    for _ in range(40):
        progress.advance(25)
    progress.finish()
    lines = log.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("100 of 1,000 periods (10%)")
    assert lines[-1].startswith("1,000 of 1,000 periods (100%)") and "left" not in lines[-1]


def test_on_a_terminal_it_redraws_one_line():
    terminal = Terminal()
    progress = Progress(OutputWrapper(terminal), 300, "periods")
    for _ in range(3):
        progress.advance(100)
    progress.finish()
    text = terminal.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert text.rstrip("\n").split("\r")[-1].startswith("300 of 300 periods (100%)")
