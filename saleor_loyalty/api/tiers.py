"""GraphQL for tiers: queries and mutations mixed into the schema's Query and Mutation (see schema.py)."""

import graphene


class TierQueries(graphene.ObjectType):
    pass


class TierMutations(graphene.ObjectType):
    pass
