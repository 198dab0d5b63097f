"""One module per mutation, like Saleor's ``graphql/<domain>/mutations/``."""
