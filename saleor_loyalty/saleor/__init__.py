"""Everything about talking to Saleor: installs, JWKS and signatures, the manifest and the GraphQL client."""
