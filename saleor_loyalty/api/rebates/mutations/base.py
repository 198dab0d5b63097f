"""What both rebate program mutations share: the payload, the input as the domain reads it, and its refusals."""

from collections.abc import Mapping
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case

from ...errors import LoyaltyError, given
from ..types import RebateProgramSettings

# Domain field names → the mutation's argument and input names, for errors shown next to the right field.
_FIELDS = {"channel_slug": "channel"}


class RebateProgramPayload(graphene.ObjectType):
    program = graphene.Field(RebateProgramSettings, description="The program after the mutation (null if refused).")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def settings_from(input: Mapping[str, Any]) -> dict[str, Any]:
    """The fields given, as the domain keeps them: bands, tier and line rates from lists of inputs to the program's
    JSON (a list given as null clears it); enums as their values."""
    settings = given(input)
    if "bands" in settings:
        settings["bands"] = [{"threshold": b["threshold"], "rate": b["rate"]} for b in settings["bands"] or []]
    if "tier_rates" in settings:
        settings["tier_rates"] = {
            t["tier"]: {"rate": t["rate"], "mode": t.get("mode") or "bonus"} for t in settings["tier_rates"] or []
        }
    if "line_rates" in settings:
        settings["line_rates"] = {f"{r['target']}:{r['saleor_id']}": r["rate"] for r in settings["line_rates"] or []}
    return settings


def refused(errors: Mapping[str, str]) -> dict[str, Any]:
    """The domain's field errors (``SettingsInvalid.errors``), each on its input field in camelCase."""
    found = []
    for field, message in errors.items():
        name = _FIELDS.get(field, to_camel_case(field))
        found.append({"field": name, "code": "INVALID", "message": f"{name} {message}"})
    return {"program": None, "errors": found}
