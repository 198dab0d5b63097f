from django.apps import AppConfig


class SaleorClientConfig(AppConfig):
    # No models (the Install row is saleor_loyalty.installs, label "installs"); an app still, for its management
    # command (audit_subscriptions) and static files (the manifest's logo).
    name = "saleor_loyalty.saleor"
    label = "saleor_client"
    verbose_name = "Saleor client"
