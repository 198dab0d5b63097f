"""GraphQL types of the email settings and previews."""

import graphene

from saleor_loyalty.notifications.models import NotificationKind, NotificationSettings

EmailKindEnum = graphene.Enum.from_enum(NotificationKind, description="A kind of shopper email.")


class EmailKindSetting(graphene.ObjectType):
    kind = graphene.Field(EmailKindEnum, required=True)
    label = graphene.String(required=True)
    enabled = graphene.Boolean(required=True)


class EmailSettings(graphene.ObjectType):
    from_email = graphene.String(required=True, description="Empty: the deployment's DEFAULT_FROM_EMAIL.")
    from_name = graphene.String(required=True)
    kinds = graphene.List(graphene.NonNull(EmailKindSetting), required=True)

    @staticmethod
    def resolve_kinds(root: NotificationSettings, info: object) -> list[dict[str, object]]:
        return [
            {"kind": kind.value, "label": kind.label, "enabled": kind.value not in root.disabled_kinds}
            for kind in NotificationKind
        ]


class EmailPreview(graphene.ObjectType):
    sender = graphene.String(
        required=True,
        description='The From line shoppers see, e.g. "Shop Club <club@shop.example>": the sender set in the email '
        "settings, else the deployment's DEFAULT_FROM_EMAIL.",
    )
    subject = graphene.String(required=True)
    text = graphene.String(required=True)
    html = graphene.String(required=True, description="Render it in a sandboxed iframe.")


class EmailSettingsInput(graphene.InputObjectType):
    disabled_kinds = graphene.List(graphene.NonNull(EmailKindEnum), description="The kinds switched off.")
    from_email = graphene.String()
    from_name = graphene.String()
