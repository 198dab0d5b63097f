"""Mirroring a member's tier into the Saleor customer's PRIVATE metadata, for other apps and the dashboard.

Keys: ``loyalty_tier`` (the tier's name — the base tier's below every other — "" without a tier) and
``loyalty_access`` (a JSON list of the tier's exclusive-access flags). Private metadata: customers cannot write it
(public metadata they can), so nothing trusts a value a shopper forged. The write is state-based — it sends the
member's tier as it is *now* — so retries and reordered tasks converge. It cannot loop back: the app subscribes to
no ``*_METADATA_UPDATED`` event, and ``webhooks.handlers`` ignores customer events whose ``issuingPrincipal`` is our
own app.
"""

import json
import logging
from typing import Any

from celery import shared_task

from saleor_loyalty.members.models import Member
from saleor_loyalty.saleor.client import SaleorClient, SaleorError

from .models import MemberTier, Tier
from .queries import base_tier

logger = logging.getLogger(__name__)
TIER_KEY = "loyalty_tier"
ACCESS_KEY = "loyalty_access"


def metadata_items(tier: Tier | None) -> list[dict[str, str]]:
    access = sorted({str(flag) for flag in tier.access}) if tier is not None else []
    return [
        {"key": TIER_KEY, "value": tier.name if tier is not None else ""},
        {"key": ACCESS_KEY, "value": json.dumps(access)},
    ]


def mirror(member_id: int) -> bool:
    """Write the member's current tier to their Saleor customer. False when there is nobody to write to."""
    member = Member.objects.select_related("install").filter(pk=member_id).first()
    if member is None or member.is_guest or member.merged_into_id is not None or not member.install.is_active:
        return False
    state = MemberTier.objects.select_related("tier").filter(member=member).first()
    tier = state.tier if state is not None and state.tier is not None else base_tier(member.install_id)
    client = SaleorClient(member.install.saleor_api_url, member.install.auth_token)
    data = client.execute("update_private_metadata", {"id": member.saleor_user_id, "input": metadata_items(tier)})
    payload: Any = data.get("updatePrivateMetadata")
    if not isinstance(payload, dict):
        raise SaleorError("Saleor returned no result for updatePrivateMetadata")
    errors = payload.get("errors") or []
    if errors:
        detail = "; ".join(f"{e.get('field')}: {e.get('code')} {e.get('message') or ''}".strip() for e in errors)
        raise SaleorError(f"Saleor refused the tier metadata: {detail}", errors=errors)
    logger.info("tier mirrored to Saleor", extra={"data": {"member_id": member.pk}})
    return True


# Named as when it lived in ``tasks``: messages queued before an upgrade still find it.
@shared_task(
    name="saleor_loyalty.tiers.tasks.mirror_tier_metadata",
    autoretry_for=(SaleorError,),
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def mirror_tier_metadata(member_id: int) -> bool:
    """Write the member's current tier into their Saleor customer's private metadata (retried on failure)."""
    return mirror(member_id)
