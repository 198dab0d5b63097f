"""Turning a notification into an email: Django templates the merchant can override.

Each kind has three templates, ``loyalty/emails/<kind>.subject.txt``, ``<kind>.txt`` and ``<kind>.html``. They are
looked up first in the directories of ``settings.LOYALTY_EMAIL_TEMPLATE_DIRS`` (the merchant's), then in this
app's ``templates/`` (the built-in ones), so a merchant overrides an email — or the shared ``base.html`` and
``footer.txt`` — by putting a file with the same name in their directory. HTML is autoescaped; the subject and
the text part are not (they are not HTML).
"""

from email.utils import formataddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.backends.django import DjangoTemplates
from django.utils.dateparse import parse_datetime

from .models import Notification, NotificationSettings

BUILTIN_DIR = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=8)
def _engines(merchant_dirs: tuple[str, ...]) -> tuple[DjangoTemplates, DjangoTemplates]:
    """(html, text) engines; templates are cached per process, so a changed override needs a restart."""

    def engine(name: str, autoescape: bool) -> DjangoTemplates:
        return DjangoTemplates(
            {
                "NAME": name,
                "DIRS": [*merchant_dirs, str(BUILTIN_DIR)],
                "APP_DIRS": False,
                "OPTIONS": {"autoescape": autoescape},
            }
        )

    return engine("loyalty_emails_html", True), engine("loyalty_emails_text", False)


def template_context(notification: Notification) -> dict[str, Any]:
    """The stored context, with ``*_at`` values (ISO strings in JSON) back as datetimes for ``|date``."""
    context: dict[str, Any] = {"kind": notification.kind}
    for name, value in (notification.context or {}).items():
        context[name] = _datetime(value) if name.endswith("_at") else value
    return context


def _datetime(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return parse_datetime(value) or value
    except ValueError:  # well formed but impossible: left as the caller wrote it
        return value


def render(notification: Notification) -> tuple[str, str, str]:
    """(subject, text, html) of the notification."""
    html_engine, text_engine = _engines(tuple(str(d) for d in getattr(settings, "LOYALTY_EMAIL_TEMPLATE_DIRS", [])))
    context = template_context(notification)
    base = f"loyalty/emails/{notification.kind}"
    subject = text_engine.get_template(f"{base}.subject.txt").render(context)
    text = text_engine.get_template(f"{base}.txt").render(context)
    html = html_engine.get_template(f"{base}.html").render(context)
    return " ".join(subject.split()), text.strip() + "\n", html


def sender(install_id: int) -> str:
    """The From of the install's emails: the merchant's sender if set (``NotificationSettings``), else
    DEFAULT_FROM_EMAIL."""
    row = NotificationSettings.objects.filter(install_id=install_id).first()
    address = (row.from_email if row else "") or settings.DEFAULT_FROM_EMAIL
    return formataddr((row.from_name, address)) if row and row.from_name else address


def build_message(notification: Notification) -> EmailMultiAlternatives:
    subject, text, html = render(notification)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=sender(notification.install_id),
        to=[notification.to_email],
        headers={
            # The same notification always has the same Message-ID: a resend (after a crash between sending and
            # recording it) is recognised as a duplicate by many mail systems.
            "Message-ID": f"<loyalty-notification.{notification.pk}@{_app_host()}>",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def _app_host() -> str:
    return urlparse(settings.APP_URL).hostname or "saleor-loyalty.invalid"
