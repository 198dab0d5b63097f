"""The app's own GraphQL APIs (graphene): for storefronts at /graphql/, for the dashboard's pages at
/dashboard/graphql/.

Shaped like Saleor's: camelCase, Relay connections for lists, mutations returning ``errors { field code message }``,
one package per domain (``types``, ``resolvers``, one module per mutation). Every rule and write lives in the
domain packages they call.
"""

from graphene.types.inputobjecttype import set_input_object_type_default_value
from graphql import Undefined

# An input field the caller left out is Undefined, not None: a mutation can tell "not given" from "set to null".
set_input_object_type_default_value(Undefined)
