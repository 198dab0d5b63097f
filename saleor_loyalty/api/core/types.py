"""Types both APIs use: money and Relay page info."""

import graphene

MAX_PAGE = 100  # the most items any list or connection returns in one page


class Money(graphene.ObjectType):
    amount = graphene.Decimal(required=True, description="Exact, at the currency's precision.")
    currency = graphene.String(required=True)


class PageInfo(graphene.ObjectType):
    has_next_page = graphene.Boolean(required=True)
    has_previous_page = graphene.Boolean(required=True)
    start_cursor = graphene.String()
    end_cursor = graphene.String()
