from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "saleor_loyalty.members"
    label = "members"
