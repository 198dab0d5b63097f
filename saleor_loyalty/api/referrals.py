"""GraphQL for referrals: queries and mutations mixed into the schema's Query and Mutation (see schema.py)."""

import graphene


class ReferralQueries(graphene.ObjectType):
    pass


class ReferralMutations(graphene.ObjectType):
    pass
