"""`requiredSaleorVersion` ranges (npm semver syntax), checked the way Saleor's installer checks them.

Saleor parses the manifest's range with npm semantics and refuses to install when its own version does not match.
This covers the npm range grammar an app realistically writes: `||` alternatives, comparators (`>=3.22 <4`),
x-ranges (`3.x`), tilde, caret and hyphen ranges. Pre-release tags are accepted and ignored.
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]
Comparator = tuple[str, Version]

# The release of each line the harness stands for (FACTS.md: checked against these).
SALEOR_RELEASES: dict[str, str] = {"3.22": "3.22.67", "3.23": "3.23.28"}

_PART = r"(?:\d+|[xX*])"
_COMPARATOR = re.compile(
    rf"^(<=|>=|<|>|=|~>?|\^)?v?({_PART})(?:\.({_PART}))?(?:\.({_PART}))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)


def parse_version(text: str) -> Version:
    major, minor, patch = [*text.split("-", maxsplit=1)[0].split("."), "0", "0"][:3]
    return int(major), int(minor), int(patch)


def _parts(match: re.Match[str]) -> list[int | None]:
    return [None if part is None or part in {"x", "X", "*"} else int(part) for part in match.group(2, 3, 4)]


def _bump(parts: list[int | None]) -> Version:
    """The first version after everything the partial version `parts` covers (`3.22` → `3.23.0`)."""
    known = [p for p in parts if p is not None] or [0]
    if len(known) == 3:
        return known[0], known[1], known[2] + 1
    if len(known) == 2:
        return known[0], known[1] + 1, 0
    return known[0] + 1, 0, 0


def _floor(parts: list[int | None]) -> Version:
    known = [p for p in parts if p is not None] + [0, 0, 0]
    return known[0], known[1], known[2]


def _comparators(token: str) -> list[Comparator]:
    match = _COMPARATOR.match(token)
    if match is None:
        raise ValueError(f"cannot parse version comparator {token!r}")
    operator = match.group(1) or "="
    parts = _parts(match)
    if parts[0] is None:
        return []  # "*" / "x": any version
    full = None not in parts
    floor, bump = _floor(parts), _bump(parts)
    if operator == "=":
        return [("=", floor)] if full else [(">=", floor), ("<", bump)]
    if operator == ">":
        return [(">", floor)] if full else [(">=", bump)]
    if operator == "<=":
        return [("<=", floor)] if full else [("<", bump)]
    if operator in {">=", "<"}:
        return [(operator, floor)]
    if operator in {"~", "~>"}:
        upper = (floor[0], floor[1] + 1, 0) if parts[1] is not None else (floor[0] + 1, 0, 0)
        return [(">=", floor), ("<", upper)]
    # caret: allow changes that do not modify the left-most non-zero part
    if floor[0] > 0 or parts[1] is None:
        upper = (floor[0] + 1, 0, 0)
    elif floor[1] > 0 or parts[2] is None:
        upper = (0, floor[1] + 1, 0)
    else:
        upper = (0, 0, floor[2] + 1)
    return [(">=", floor), ("<", upper)]


def parse_range(spec: str) -> list[list[Comparator]]:
    """Alternatives (`||`), each a conjunction of comparators. Raises ValueError when `spec` is not a range."""
    alternatives: list[list[Comparator]] = []
    for alternative in spec.split("||"):
        text = re.sub(r"(<=|>=|<|>|=|~>?|\^)\s+", r"\1", alternative.strip())
        hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
        if hyphen:
            low, high = (_COMPARATOR.match(token) for token in hyphen.groups())
            if low is None or high is None:
                raise ValueError(f"cannot parse hyphen range {alternative!r}")
            high_parts = _parts(high)
            upper: Comparator = ("<=", _floor(high_parts)) if None not in high_parts else ("<", _bump(high_parts))
            alternatives.append([(">=", _floor(_parts(low))), upper])
            continue
        comparators: list[Comparator] = []
        for token in text.split():
            comparators.extend(_comparators(token))
        alternatives.append(comparators)
    return alternatives


def _holds(version: Version, comparator: Comparator) -> bool:
    operator, bound = comparator
    return {
        "=": version == bound,
        ">": version > bound,
        ">=": version >= bound,
        "<": version < bound,
        "<=": version <= bound,
    }[operator]


def satisfies(version: str, spec: str) -> bool:
    """Whether Saleor `version` (e.g. `3.23.28`) matches the npm range `spec`."""
    parsed = parse_version(version)
    return any(all(_holds(parsed, c) for c in alternative) for alternative in parse_range(spec))
