"""Saleor's own GraphQL schemas, so every document the app sends or subscribes with is checked against the real API.

The app declares `requiredSaleorVersion: ">=3.22 <4"`, so a document must be valid on every supported line, not
just the newest. The SDL files are Saleor's `schema.graphql` of each line, kept in the shared directory beside the
repository (or wherever `SALEOR_SHARED_DIR` points).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, build_schema, parse, validate

SALEOR_VERSIONS: tuple[str, ...] = ("3.22", "3.23")

# A document the app sends only to newer stores says so in its leading comment: `# Saleor 3.23+ only ...`. It is then
# checked against those lines alone, and a store of an older line refuses it (as a real one would, or worse).
_ONLY_FROM = re.compile(r"\bSaleor (\d+)\.(\d+)\+ only\b")

_schemas: dict[str, GraphQLSchema] = {}
_lock = threading.Lock()


class InvalidDocument(AssertionError):
    """A GraphQL document that the given Saleor version would reject."""

    def __init__(self, version: str, errors: Sequence[GraphQLError], document: str | None = None) -> None:
        self.version = version
        self.errors = list(errors)
        self.document = document
        lines = [f"GraphQL document is not valid against Saleor {version} ({len(self.errors)} error(s)):"]
        for error in self.errors:
            where = ", ".join(f"line {loc.line} col {loc.column}" for loc in error.locations or ())
            lines.append(f"  - {error.message}" + (f" ({where})" if where else ""))
        if document is not None:
            lines.append("document:")
            lines.extend(f"    {text}" for text in document.strip().splitlines())
        super().__init__("\n".join(lines))


def shared_saleor_dir() -> Path:
    """The directory holding Saleor's schemas and samples: `$SALEOR_SHARED_DIR`, else `<repo>/../shared/saleor`."""
    configured = os.environ.get("SALEOR_SHARED_DIR")
    if configured:
        return Path(configured)
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "saleor"


def load_schema(version: str) -> GraphQLSchema:
    """Saleor's schema of one release line (built once per process: it takes a couple of seconds)."""
    if version not in SALEOR_VERSIONS:
        raise ValueError(f"unknown Saleor version {version!r}; known: {', '.join(SALEOR_VERSIONS)}")
    with _lock:
        schema = _schemas.get(version)
        if schema is None:
            sdl = (shared_saleor_dir() / f"schema-{version}.graphql").read_text(encoding="utf-8")
            schema = build_schema(sdl)
            _schemas[version] = schema
        return schema


def document_errors(document: str, version: str) -> list[GraphQLError]:
    """Every reason the given Saleor version would reject `document` (empty when it is valid)."""
    try:
        ast = parse(document)
    except GraphQLError as error:
        return [error]
    return list(validate(load_schema(version), ast))


def validate_document(document: str, versions: Iterable[str] = SALEOR_VERSIONS) -> None:
    """Raise `InvalidDocument` unless `document` parses and validates against each of the given Saleor versions."""
    for version in versions:
        errors = document_errors(document, version)
        if errors:
            raise InvalidDocument(version, errors, document)


def _line(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def minimum_version(document: str) -> str | None:
    """The oldest Saleor line a document is meant for, from its leading `#` comment (None: every line)."""
    for text in document.lstrip().splitlines():
        if not text.startswith("#"):
            break
        match = _ONLY_FROM.search(text)
        if match:
            return f"{match.group(1)}.{match.group(2)}"
    return None


def versions_for(document: str, versions: Iterable[str] = SALEOR_VERSIONS) -> tuple[str, ...]:
    """The given Saleor lines the document is meant for (all of them unless it says `Saleor X.Y+ only`)."""
    oldest = minimum_version(document)
    return tuple(v for v in versions if oldest is None or _line(v) >= _line(oldest))
