"""A deterministic ``PaymentGateway`` for tests and the demo: the test decides each outcome and its time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import ClassVar

import attrs

from espacefamille.billing.online import (
    DEFAULT_VALIDITY,
    CreatedPayment,
    PaymentNotification,
    PaymentResult,
    PaymentStatus,
    check_validity,
    expires_after,
    in_utc,
    notification_id,
    reference_reused,
    unanswered_result,
)
from espacefamille.calendar.timezones import (
    require_aware,
)
from espacefamille.errors import InvalidInput
from espacefamille.money import Money

__all__ = ["FakeGateway"]


@attrs.define
class _FakeEntry:
    payment: CreatedPayment
    status: PaymentStatus | None = None
    answered_at: dt.datetime | None = None
    reported_amount: Money | None = None
    reported_reference: str | None = None


class FakeGateway:
    """A deterministic gateway for tests and the demo: the test decides each payment's outcome and time.

    Ids come from a counter (``fake-000001``, ``fake-000002``…). ``pay``, ``refuse`` and ``cancel`` answer a
    payment at an instant inside its validity window; a payment left alone stays pending, then expires. An
    answer is final, as at PayFiP. ``tamper`` makes the gateway report other figures than those asked, to
    test that such a result is rejected. A query at an instant before the answer sees the payment pending.
    """

    notification_field: ClassVar[str] = "idop"

    def __init__(
        self,
        *,
        validity: dt.timedelta = DEFAULT_VALIDITY,
        prefix: str = "fake",
        url: str = "https://paiement.example/fake",
    ) -> None:
        check_validity(validity)
        self.validity = validity
        self.prefix = prefix
        self.url = url
        self._counter = 0
        self._entries: dict[str, _FakeEntry] = {}

    def create_payment(
        self, amount: Money, reference: str, *, email: str, now: dt.datetime
    ) -> CreatedPayment:
        require_aware(now)
        if any(entry.payment.reference == reference for entry in self._entries.values()):
            raise reference_reused(reference)
        payment_id = f"{self.prefix}-{self._counter + 1:06d}"
        created = CreatedPayment(
            payment_id,
            f"{self.url}/{payment_id}",
            amount,
            reference,
            email,
            now,
            expires_after(now, self.validity),
        )
        self._counter += 1
        self._entries[payment_id] = _FakeEntry(created)
        return created

    def notification(self, payment_id: str) -> dict[str, str]:
        """The payload the fake gateway posts back for ``payment_id``."""
        return {self.notification_field: payment_id}

    def receive_notification(self, payload: Mapping[str, str]) -> PaymentNotification:
        payment_id = notification_id(
            payload,
            [self.notification_field],
            code="payment.notification_without_id",
            message_fr="Notification de paiement sans identifiant.",
        )
        return PaymentNotification(payment_id)

    def query_status(self, payment: CreatedPayment, now: dt.datetime) -> PaymentResult:
        require_aware(now)
        entry = self._entries.get(payment.payment_id)
        if entry is None:
            raise InvalidInput(f"the fake gateway never created {payment.payment_id}", code="fake.unknown_id")
        if entry.status is None or entry.answered_at is None or in_utc(now) < in_utc(entry.answered_at):
            return unanswered_result(entry.payment, now)
        return PaymentResult(
            payment.payment_id,
            entry.status,
            entry.reported_amount if entry.reported_amount is not None else entry.payment.amount,
            entry.reported_reference if entry.reported_reference is not None else entry.payment.reference,
            entry.answered_at,
            entry.status.value,
        )

    def pay(self, payment_id: str, at: dt.datetime) -> None:
        """The family pays at ``at``."""
        self._answer(payment_id, PaymentStatus.PAID, at)

    def refuse(self, payment_id: str, at: dt.datetime) -> None:
        """The bank refuses the payment at ``at``."""
        self._answer(payment_id, PaymentStatus.REFUSED, at)

    def cancel(self, payment_id: str, at: dt.datetime) -> None:
        """The family gives up at ``at``."""
        self._answer(payment_id, PaymentStatus.CANCELLED, at)

    def tamper(self, payment_id: str, *, amount: Money | None = None, reference: str | None = None) -> None:
        """Make the gateway report ``amount`` and/or ``reference`` instead of what was asked."""
        entry = self._entry(payment_id)
        entry.reported_amount = amount if amount is not None else entry.reported_amount
        entry.reported_reference = reference if reference is not None else entry.reported_reference

    def _entry(self, payment_id: str) -> _FakeEntry:
        entry = self._entries.get(payment_id)
        if entry is None:
            raise InvalidInput(f"the fake gateway never created {payment_id}", code="fake.unknown_id")
        return entry

    def _answer(self, payment_id: str, status: PaymentStatus, at: dt.datetime) -> None:
        require_aware(at, "at")
        entry = self._entry(payment_id)
        if entry.status is not None:
            raise InvalidInput(
                f"{payment_id} was already answered {entry.status.value}", code="fake.already_answered"
            )
        if in_utc(at) < in_utc(entry.payment.created_at) or entry.payment.is_expired_at(at):
            raise InvalidInput(
                f"{payment_id} can only be answered inside its validity window", code="fake.outside_validity"
            )
        entry.status, entry.answered_at = status, at
