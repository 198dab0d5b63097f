"""Django migrations, one package per app label (wired with MIGRATION_MODULES; shipped as saleor_loyalty.migrations)."""
