"""GraphQL types of earning actions and API keys (a key's secret is never readable after it is issued)."""

import graphene

from saleor_loyalty.program import models

from ..core.ids import global_id


class EarningAction(graphene.ObjectType):
    code = graphene.String(required=True, description="What recordEvent's `action` names.")
    name = graphene.String(required=True)
    points = graphene.Int(required=True)
    max_per_period = graphene.Int(description="Times a customer may earn it per period (null: no cap).")
    period_days = graphene.Int(required=True)
    is_active = graphene.Boolean(required=True)


class ApiKey(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    prefix = graphene.String(required=True, description="The key's first characters, to tell keys apart.")
    created_at = graphene.DateTime(required=True)
    revoked_at = graphene.DateTime()

    @staticmethod
    def resolve_id(root: models.ServerApiKey, info: object) -> str:
        return global_id("ApiKey", root.pk)
