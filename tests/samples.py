"""The real signed deliveries captured from Saleor 3.23.28 (../shared/saleor/samples), as test data."""

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from saleor_loyalty.saleor.subscriptions import SUBSCRIPTIONS
from tests.saleor_harness.schemas import shared_saleor_dir

SAMPLES_DIR = shared_saleor_dir() / "samples" / "3.23.28"  # $SALEOR_SHARED_DIR, else <repo>/../shared/saleor
SAMPLE_API_URL = "http://localhost:8000/graphql/"


@dataclass(frozen=True)
class Delivery:
    name: str
    event: str  # lower-case, as in Saleor-Event
    body: bytes
    headers: dict[str, str]

    @property
    def path(self) -> str | None:
        """Our endpoint for this event, or None when the app does not subscribe to it."""
        return next((s.path for s in SUBSCRIPTIONS if self.event.upper() in s.events), None)


@cache
def deliveries() -> tuple[Delivery, ...]:
    index = json.loads((SAMPLES_DIR / "index.json").read_text())
    found = []
    for entry in index["deliveries"]:
        name = entry["file"]
        headers = json.loads((SAMPLES_DIR / f"{name}.headers.json").read_text())
        body = (SAMPLES_DIR / f"{name}.body.json").read_bytes()
        found.append(Delivery(name=name, event=headers["Saleor-Event"], body=body, headers=headers))
    return tuple(found)


def subscribed() -> tuple[Delivery, ...]:
    return tuple(d for d in deliveries() if d.path is not None)


def jwks() -> dict[str, Any]:
    keys: dict[str, Any] = json.loads((SAMPLES_DIR / "jwks.json").read_text())
    return keys
