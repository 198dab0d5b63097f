"""The app's own GraphQL API for storefronts (graphene), served at /graphql/.

Shaped like Saleor's: camelCase, Relay connections for lists, mutations returning ``errors { field code message }``.
Types and mutations live here; every rule and write lives in the domain packages they call.
"""
