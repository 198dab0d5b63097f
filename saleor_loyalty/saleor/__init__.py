"""Everything about talking to Saleor: registering and removing installs, JWKS and signatures, tokens, the manifest
and the GraphQL client. The install row itself, and which stores this deployment serves, are
``saleor_loyalty.installs``, below this package: the domain names its store without importing the client.
"""
