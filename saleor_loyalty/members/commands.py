"""What operator commands about one customer share: naming the store and the customer."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named

from .models import Member
from .queries import MemberNotFound, find_member


def add_customer_arguments(parser: CommandParser) -> None:
    parser.add_argument("--install", required=True, help="the store's Saleor API URL")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user-id", help="the customer's Saleor user id (e.g. VXNlcjox)")
    who.add_argument("--email", help="the customer's email (a guest's, or an account's)")


def customer_named(options: dict[str, Any]) -> Member:
    """The member the command's ``--install`` and ``--user-id``/``--email`` name, or a CommandError."""
    install = install_named(options["install"])
    try:
        return find_member(install, user_id=options["user_id"], email=options["email"])
    except MemberNotFound as exc:
        raise CommandError(str(exc)) from exc
