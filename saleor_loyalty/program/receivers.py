"""The program's own listeners: earning events on customer changes and on orders."""

from typing import Any

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member

from . import bonuses, signals
from .models import OrderAward
from .orders import Settlement
from .rules import program_settings
from .snapshots import CustomerSnapshot


def on_customer_changed(
    sender: object, *, install: Install, customer: CustomerSnapshot, member: Member, event: str, **_: Any
) -> None:
    program = program_settings(install)
    bonuses.remember_birthday(member, customer, program)
    bonuses.give_signup_bonus(member, customer, program)


def on_order_reconciled(
    sender: object, *, install: Install, member: Member, award: OrderAward, settlement: Settlement, **_: Any
) -> None:
    bonuses.settle_first_order_bonus(member, award, settlement.program)


signals.customer_changed.connect(on_customer_changed, dispatch_uid="program.bonuses.customer")
signals.order_reconciled.connect(on_order_reconciled, dispatch_uid="program.bonuses.order")
