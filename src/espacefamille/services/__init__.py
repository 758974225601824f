"""Application services: the calls a family portal and a back office make, on any store honouring the ports.

``FamilyPortal`` (children, services, the calendar, baskets and their payment, absences, invoices to pay,
requests) and ``BackOffice`` (accounts, enrolments, attendance, closures, expired holds, month-end billing,
credits, refunds, answers to requests). Each call checks who acts, runs in one unit of work with its outbox
events, and is retried on ``ConcurrentChange``. ``docs/services.md`` has a worked example per use case.
"""

from espacefamille.services.backoffice import BackOffice, HoldsReleased, MonthEndReport, SheetLine
from espacefamille.services.portal import (
    DEFAULT_RETRIES,
    AbsenceResult,
    BasketOutcome,
    FamilyPortal,
    InvoiceView,
    NotificationResult,
    PaymentView,
    transact,
)

__all__ = [
    "DEFAULT_RETRIES",
    "AbsenceResult",
    "BackOffice",
    "BasketOutcome",
    "FamilyPortal",
    "HoldsReleased",
    "InvoiceView",
    "MonthEndReport",
    "NotificationResult",
    "PaymentView",
    "SheetLine",
    "transact",
]
