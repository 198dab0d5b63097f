"""``set_paid_plan``: create or replace a paid membership plan; ``--return-origin`` sets where Checkout may return."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.memberships.configuration import InvalidMembershipConfig, set_paid_plan, set_return_origins


def _benefit(text: str) -> dict[str, str]:
    """``free_shipping:<channel id>`` or ``fixed_amount:<channel id>:<amount>``."""
    kind, _, rest = text.partition(":")
    channel_id, _, value = rest.partition(":")
    return {"kind": kind, "channel_id": channel_id, "value": value}


class Command(BaseCommand):
    help = (
        "Sell a tier as a Stripe subscription (--name, --tier, --price, --amount, --currency, --interval), and/or "
        "set the storefront origins Checkout may return to (--return-origin, repeatable)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--name", help="the plan's name, e.g. 'VIP monthly' (create or replace)")
        parser.add_argument("--tier", help="the tier it sells")
        parser.add_argument("--price", help="the Stripe Price id (price_…)")
        parser.add_argument("--amount", help="the price shown to shoppers, e.g. 9.99")
        parser.add_argument("--currency", help="ISO currency, e.g. USD")
        parser.add_argument("--interval", default="month", help="day, week, month or year")
        parser.add_argument("--interval-count", type=int, default=1)
        parser.add_argument("--grace-days", type=int, default=7, help="days the tier stays after a failed payment")
        parser.add_argument(
            "--benefit",
            action="append",
            default=[],
            help="per paid period: free_shipping:<channel id> or fixed_amount:<channel id>:<amount>",
        )
        parser.add_argument("--inactive", action="store_true", help="stop selling it (members keep theirs)")
        parser.add_argument("--return-origin", action="append", default=None, help="https://shop.example.com")
        parser.add_argument("--by", default="operator", help="who changed it (change log)")

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        try:
            if options["return_origin"] is not None:
                row = set_return_origins(install, options["return_origin"], actor=options["by"])
                self.stdout.write(f"Checkout may return to: {', '.join(row.return_origins) or 'nowhere'}")
            if options["name"]:
                missing = [f"--{n}" for n in ("tier", "price", "amount", "currency") if not options[n]]
                if missing:
                    raise CommandError(f"{', '.join(missing)} required with --name")
                plan = set_paid_plan(
                    install,
                    name=options["name"],
                    tier_name=options["tier"],
                    amount=options["amount"],
                    currency=options["currency"],
                    interval=options["interval"],
                    interval_count=options["interval_count"],
                    stripe_price_id=options["price"],
                    grace_days=options["grace_days"],
                    benefits=[_benefit(b) for b in options["benefit"]],
                    is_active=not options["inactive"],
                    actor=options["by"],
                )
                self.stdout.write(f"plan {plan.name} (#{plan.pk}): {plan.tier.name} for {plan.amount} {plan.currency}")
        except InvalidMembershipConfig as exc:
            raise CommandError(str(exc)) from exc
