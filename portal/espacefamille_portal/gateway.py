"""The development stand-in for PayFiP: the library's fake gateway, and the payments it was asked for."""

from __future__ import annotations

import datetime as dt

from espacefamille import Money
from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.billing.online import CreatedPayment

__all__ = ["DevPayfip"]


class DevPayfip(FakeGateway):
    """``FakeGateway`` whose payment page is the portal's own ``/dev/payfip/<id>``.

    It remembers each payment it created (amount, reference), as the Treasury's page knows what it shows.
    """

    def __init__(self, url: str = "/dev/payfip") -> None:
        super().__init__(url=url)
        self.created: dict[str, CreatedPayment] = {}

    def create_payment(
        self, amount: Money, reference: str, *, email: str, now: dt.datetime
    ) -> CreatedPayment:
        created = super().create_payment(amount, reference, email=email, now=now)
        self.created[created.payment_id] = created
        return created
