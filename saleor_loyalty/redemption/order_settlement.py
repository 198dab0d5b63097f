"""What redemption supplies to an order's settlement (``program.extensions``): spending a redemption's points
when the order arrives with its code, giving them back as the order is refunded, and what they took off it."""

from decimal import Decimal
from fractions import Fraction

from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.models import ProgramSettings

from . import actions
from .models import Redemption


class OrderRedemptions:
    def capture(self, install: Install, *, order_id: str, voucher_code: str | None) -> bool:
        return actions.capture_for_order(install, order_id=order_id, voucher_code=voucher_code) is not None

    def redeemed_value(self, install: Install, *, order_id: str) -> Decimal:
        amounts = Redemption.objects.filter(install=install, order_id=order_id).values_list("amount", flat=True)
        return sum(amounts, Decimal(0))

    def settle_returns(self, install: Install, *, order_id: str, kept_share: Fraction, program: ProgramSettings) -> int:
        return actions.settle_returns(install, order_id=order_id, kept_share=kept_share, program=program)
