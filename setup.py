"""Package list for the wheel: saleor_loyalty plus webhooks/, migrations/ and graphql/ mapped under it.

Metadata lives in setup.cfg; only the package list needs code, because the mapped folders' sub-packages
(``webhooks.management.commands``, ``migrations.ledger`` ...) must be named under their new parent.
"""

from setuptools import find_namespace_packages, find_packages, setup


def mapped(folder: str, dotted: str, namespace: bool = False) -> list[str]:
    finder = find_namespace_packages if namespace else find_packages
    return [dotted] + [f"{dotted}.{sub}" for sub in finder(folder)]


setup(
    packages=(
        mapped("saleor_loyalty", "saleor_loyalty")
        + mapped("webhooks", "saleor_loyalty.webhooks")
        + mapped("migrations", "saleor_loyalty.migrations")
        + mapped("graphql", "saleor_loyalty.graphql_documents", namespace=True)
    )
)
