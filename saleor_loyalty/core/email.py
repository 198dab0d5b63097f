"""The email backend of a production install that has no EMAIL_URL: log that an email was due, never its text.

Django's console backend prints whole messages — a shopper's address, name and balance — into the process's
output, which in production is the log pipeline. Without a configured mail server this logs one line per
message with the recipient masked (``j***@example.com``), so an operator sees that mail is not going out.
"""

import logging
from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

logger = logging.getLogger(__name__)


def mask_email(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


class MaskedLogBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            logger.warning(
                "email not sent: no EMAIL_URL configured",
                extra={"data": {"to": [mask_email(str(to)) for to in message.to]}},
            )
        return 0
