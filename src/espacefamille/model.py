"""The commune's entities: who runs the services, what can be booked, and the families who book it.

The ``Commune`` aggregate, which gathers them with the rules' and prices' configuration, is
``espacefamille.commune.Commune``.

French words are kept where English has no equal: *collectivité* (the commune or grouping that runs
the services), *régie* (its cash office, which invoices and collects), *prestation* (the bookable
unit of a service: a meal, a care slot, a holiday week), *quotient familial* (the family's
income index from the CAF or MSA, which prices depend on).

Every class is frozen and validated at construction: an inconsistent object cannot exist.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs

from espacefamille._internal.trusted import trusted_builder
from espacefamille._internal.validators import (
    email_address,
    identifier,
    non_empty,
    normal_text,
    optional_date,
    optional_text,
    plain_date,
)
from espacefamille.billing.accounting import PesSettings
from espacefamille.billing.mandates import Creditor
from espacefamille.billing.tariffs import QfChangeRule
from espacefamille.calendar.opening import Closure, Opening
from espacefamille.calendar.periods import DateRange
from espacefamille.calendar.public_holidays import HolidaySubdivision
from espacefamille.calendar.school import SchoolYear, SchoolZone
from espacefamille.calendar.timezones import DEFAULT_TIMEZONE, time_zone
from espacefamille.errors import InvalidInput
from espacefamille.money import Money, to_decimal

__all__ = [
    "BookedDays",
    "Booking",
    "BookingStatus",
    "Child",
    "Collectivite",
    "CounterPayment",
    "Diet",
    "Enrolment",
    "Family",
    "Guardian",
    "InvoiceMentions",
    "PaymentMode",
    "PostalAddress",
    "Prestation",
    "PrestationKind",
    "QuotientFamilial",
    "Regie",
    "Residence",
    "SchoolClass",
    "Service",
    "ServiceKind",
    "booked_days",
    "quotient_in_force",
]

_T = TypeVar("_T")

# Names are composed (NFC) by ``normal_text``, then checked: not blank, one line of text.
_non_empty = non_empty(code="model.empty")
_email = email_address(code="model.bad_email", optional=True)
#: The earliest and latest birth dates a child may have. Whether a child is born yet depends on the day it
#: is recorded: the back office refuses a birth after the commune's today (``model.born_in_future``).
EARLIEST_BIRTH: Final = dt.date(1900, 1, 1)
LATEST_BIRTH: Final = dt.date(2200, 12, 31)


def _birth_date(instance: object, attribute: attrs.Attribute[dt.date], value: object) -> None:
    plain_date(instance, attribute, value)
    assert isinstance(value, dt.date)
    if not EARLIEST_BIRTH <= value <= LATEST_BIRTH:
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be from {EARLIEST_BIRTH} to {LATEST_BIRTH}, "
            f"got {value.isoformat()}",
            message_fr="Date de naissance invraisemblable.",
            code="model.birth_date",
            details={"at": attribute.name},
        )


def _ranges(items: Iterable[DateRange]) -> tuple[DateRange, ...]:
    return tuple(items)


def _prestations(items: Iterable[Prestation]) -> tuple[Prestation, ...]:
    return tuple(items)


def _closures(items: Iterable[Closure]) -> tuple[Closure, ...]:
    return tuple(items)


def _guardians(items: Iterable[Guardian]) -> tuple[Guardian, ...]:
    return tuple(items)


def _quotients(items: Iterable[QuotientFamilial]) -> tuple[QuotientFamilial, ...]:
    return tuple(sorted(items, key=lambda q: q.valid_from))


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _diets(items: Iterable[Diet]) -> frozenset[Diet]:
    return frozenset(items)


def _regies(items: Iterable[Regie]) -> tuple[Regie, ...]:
    return tuple(items)


def _services(items: Iterable[Service]) -> tuple[Service, ...]:
    return tuple(items)


def _school_years(items: Iterable[SchoolYear]) -> tuple[SchoolYear, ...]:
    return tuple(items)


def _whole_between(low: int, high: int) -> Any:
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                f"{type(instance).__name__}.{attribute.name} must be a whole number from {low} to {high}, "
                f"got {value!r}",
                code="model.out_of_range",
            )

    return check


# -- who runs the services --------------------------------------------------------------------


@attrs.frozen
class Collectivite:
    """A commune or grouping of communes: its school zone, public holidays and time zone."""

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(converter=normal_text, validator=_non_empty)
    school_zone: SchoolZone = attrs.field(validator=attrs.validators.instance_of(SchoolZone))
    subdivision: HolidaySubdivision = attrs.field(
        default=HolidaySubdivision.METROPOLE, validator=attrs.validators.instance_of(HolidaySubdivision)
    )
    timezone: str = DEFAULT_TIMEZONE

    def __attrs_post_init__(self) -> None:
        time_zone(self.timezone)


class CounterPayment(enum.Enum):
    """A way of paying a régie accepts besides PayFiP online and direct debit, as its invoices list it."""

    CARD = "carte"
    CHEQUE = "cheque"
    CASH = "especes"
    CESU = "cesu"
    HOLIDAY_VOUCHERS = "cheques_vacances"
    TRANSFER = "virement"


def _lines(value: object) -> object:
    return tuple(normal_text(line) for line in value) if isinstance(value, list | tuple) else value


def _payments(value: object) -> object:
    return tuple(CounterPayment(item) for item in value) if isinstance(value, list | tuple) else value


@attrs.frozen
class InvoiceMentions:
    """What a régie's invoices say besides the amounts, as its treasurer wants them (all optional).

    ``address`` is its postal address, one line each; ``opening_hours`` and ``phone`` how to reach it;
    ``cheque_payable_to`` to whom a cheque is made out (``"Trésor public"``, or the régie's name);
    ``counter_payments`` the ways it takes at its counter or by post (online payment is offered when the régie
    has a PayFiP client number); ``after_due_date`` what happens once the due date is past (empty: the
    standard sentence on the Treasury's recovery); ``zero_lines`` shows lines at 0,00 € in the table.
    """

    address: tuple[str, ...] = attrs.field(
        default=(), converter=_lines, validator=attrs.validators.deep_iterable(optional_text)
    )
    opening_hours: str | None = attrs.field(default=None, converter=normal_text, validator=optional_text)
    phone: str | None = attrs.field(default=None, converter=normal_text, validator=optional_text)
    cheque_payable_to: str | None = attrs.field(default=None, converter=normal_text, validator=optional_text)
    counter_payments: tuple[CounterPayment, ...] = attrs.field(
        default=(CounterPayment.CASH, CounterPayment.CHEQUE),
        converter=_payments,
        validator=attrs.validators.deep_iterable(attrs.validators.instance_of(CounterPayment)),
    )
    after_due_date: str | None = attrs.field(default=None, converter=normal_text, validator=optional_text)
    zero_lines: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))


@attrs.frozen
class Regie:
    """A cash office: it numbers invoices and collects payments (online through PayFiP).

    Its invoices are due ``payment_delay_days`` after they are issued; families on direct debit are debited
    on ``direct_debit_day`` of the following month. A day it already invoiced can still be corrected (an
    absence justified late, a status fixed by an agent) for ``correction_window_days`` after that day: the
    correction becomes a regularisation line on the next invoice; an older day's facts are final. Its
    invoices carry its ``mentions`` (address, hours, means of payment…); ``pes`` names it in the Treasury's
    Hélios (SIRET, poste comptable, budget, accounting codes) for its PES V2 files; ``sepa`` is the régie as
    a SEPA creditor (its ICS and account) when it collects invoices by direct debit.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(converter=normal_text, validator=_non_empty)
    payfip_client: str | None = None
    payment_delay_days: int = attrs.field(default=30, validator=_whole_between(0, 366))
    direct_debit_day: int = attrs.field(default=10, validator=_whole_between(1, 28))
    correction_window_days: int = attrs.field(default=365, validator=_whole_between(0, 3660))
    mentions: InvoiceMentions = attrs.field(
        factory=InvoiceMentions, validator=attrs.validators.instance_of(InvoiceMentions)
    )
    pes: PesSettings | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(PesSettings))
    )
    sepa: Creditor | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Creditor))
    )


class ServiceKind(enum.Enum):
    CANTINE = "cantine"
    PERISCOLAIRE = "periscolaire"
    MERCREDI = "mercredi"
    ALSH = "alsh"
    ETUDE = "etude"
    OTHER = "other"


class PrestationKind(enum.Enum):
    """The bookable unit: a day (or a meal), a half day, a timed slot, or an indivisible block."""

    DAY = "day"
    HALF_DAY = "half_day"
    SLOT = "slot"
    BLOCK = "block"


class PaymentMode(enum.Enum):
    """*Payable à la réservation* (paid online when the basket is validated) or at month end."""

    PREPAID = "prepaid"
    MONTH_END = "month_end"


@attrs.frozen
class Prestation:
    """What a family books for a child on a date, within a service.

    ``start``/``end`` are the wall-clock hours (needed for slots and for deadlines counted in hours).
    A ``BLOCK`` prestation is booked whole: its ``blocks`` are explicit date ranges, or, when none are
    given, the weeks (Monday to Sunday) of its opening calendar.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(converter=normal_text, validator=_non_empty)
    service_id: str = attrs.field(validator=identifier)
    kind: PrestationKind = attrs.field(validator=attrs.validators.instance_of(PrestationKind))
    payment_mode: PaymentMode = attrs.field(validator=attrs.validators.instance_of(PaymentMode))
    opening: Opening = attrs.field(validator=attrs.validators.instance_of(Opening))
    start: dt.time | None = None
    end: dt.time | None = None
    blocks: tuple[DateRange, ...] = attrs.field(converter=_ranges, default=())

    def __attrs_post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, dt.time) or value.tzinfo is not None):
                raise InvalidInput(
                    f"Prestation.{name} must be a naive wall-clock time", code="model.bad_time"
                )
        if self.kind is PrestationKind.SLOT and (self.start is None or self.end is None):
            raise InvalidInput(
                f"slot prestation {self.id!r} needs start and end times",
                code="model.slot_without_hours",
            )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidInput(
                f"prestation {self.id!r} ends at {self.end} before it starts at {self.start}",
                message_fr="L'heure de fin précède l'heure de début.",
                code="input.end_before_start",
            )
        if self.blocks and self.kind is not PrestationKind.BLOCK:
            raise InvalidInput(f"only block prestations have blocks ({self.id!r})", code="model.blocks")

    @property
    def minutes(self) -> int | None:
        """The slot's length in whole minutes (1 h 05 is 65), when it has hours."""
        if self.start is None or self.end is None:
            return None
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


@attrs.frozen
class Service:
    """A family service (cantine, périscolaire, mercredis, centre de loisirs…) and its prestations.

    ``closures`` (a strike, a training day) close every prestation of the service.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(converter=normal_text, validator=_non_empty)
    kind: ServiceKind = attrs.field(validator=attrs.validators.instance_of(ServiceKind))
    regie_id: str = attrs.field(validator=identifier)
    prestations: tuple[Prestation, ...] = attrs.field(converter=_prestations, default=())
    closures: tuple[Closure, ...] = attrs.field(converter=_closures, default=())

    def __attrs_post_init__(self) -> None:
        for prestation in self.prestations:
            if prestation.service_id != self.id:
                raise InvalidInput(
                    f"prestation {prestation.id!r} belongs to {prestation.service_id!r}, not {self.id!r}",
                    code="model.prestation_service",
                )


# -- families ---------------------------------------------------------------------------------


class Residence(enum.Enum):
    """Whether the family lives in the collectivité (prices often differ)."""

    RESIDENT = "resident"
    NON_RESIDENT = "non_resident"


def _quotient_value(value: object) -> Decimal:
    result = to_decimal(value, what="quotient familial")
    if result < 0:
        raise InvalidInput(
            f"a quotient familial cannot be negative, got {result}",
            message_fr=f"Un quotient familial ne peut pas être négatif ({result}).",
            code="model.negative_quotient",
        )
    return result


@attrs.frozen
class QuotientFamilial:
    """A family's QF from ``valid_from`` (to ``valid_until`` included, or open-ended).

    A value of 0 is a real quotient (the lowest band), distinct from an unknown QF. ``received_on`` is
    the day the commune received the attestation: a QF is never backdated, it applies from the date the
    price list's ``qf_change`` rule gives (``in_force_from``). None for a quotient entered with its dates
    already decided (migrated data): it applies from ``valid_from``.
    """

    value: Decimal = attrs.field(converter=_quotient_value)
    valid_from: dt.date = attrs.field(validator=plain_date)
    valid_until: dt.date | None = attrs.field(default=None, validator=optional_date)
    source: str = "CAF"
    received_on: dt.date | None = attrs.field(default=None, validator=optional_date, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise InvalidInput(
                f"quotient valid until {self.valid_until} before it starts on {self.valid_from}",
                message_fr="La fin de validité du quotient précède son début.",
                code="input.end_before_start",
            )

    def in_force_from(self, rule: QfChangeRule = QfChangeRule.IMMEDIATELY) -> dt.date:
        """The first day this QF prices: ``valid_from``, or later when ``rule`` puts the change after the
        day it was received (the 1st of the next month…). Never before it was received."""
        if self.received_on is None:
            return self.valid_from
        return max(self.valid_from, rule.effective_from(self.received_on))


def quotient_in_force(
    quotients: Iterable[QuotientFamilial], day: dt.date, rule: QfChangeRule = QfChangeRule.IMMEDIATELY
) -> QuotientFamilial | None:
    """The quotient that prices ``day`` under ``rule`` (the price list's ``qf_change``), or None (unknown).

    The one way to say which QF is in force: the latest to come into force (``in_force_from``) on or
    before ``day``, until its ``valid_until``. A quotient replaced by one that starts the day after it
    ends stays in force until the new one comes into force, so a change is never backdated and leaves no
    gap: a new QF valid from 1 November but received on 17 November under a "next month" rule prices
    from 1 December, November keeping the old one.
    """
    candidates = tuple(quotients)
    best: QuotientFamilial | None = None
    best_key: tuple[dt.date, dt.date] | None = None
    for quotient in candidates:
        start = quotient.in_force_from(rule)
        if start > day or (quotient.valid_until is not None and start > quotient.valid_until):
            continue  # not yet in force, or received too late to ever be
        key = (start, quotient.valid_from)
        if best_key is None or key >= best_key:
            best, best_key = quotient, key
    if best is None or best.valid_until is None or day <= best.valid_until:
        return best
    successor_from = best.valid_until + dt.timedelta(days=1)
    for quotient in candidates:
        if quotient.valid_from == successor_from and day < quotient.in_force_from(rule):
            return best  # replaced, but the new one is not in force yet
    return None


@attrs.frozen
class Guardian:
    """A *responsable légal*. Contact details are optional; login stays the host application's job."""

    id: str = attrs.field(validator=identifier)
    first_name: str = attrs.field(converter=normal_text, validator=_non_empty)
    last_name: str = attrs.field(converter=normal_text, validator=_non_empty)
    email: str | None = attrs.field(default=None, validator=_email)
    phone: str | None = attrs.field(default=None, converter=normal_text, validator=optional_text)


#: French postal conventions (NF Z10-011): at most 38 characters a line, and a full address of at most six
#: lines, of which the name is one and the postcode with the city another: so four lines of street (mail
#: abroad adds the country, a seventh line).
ADDRESS_LINE_LENGTH: Final = 38
ADDRESS_LINES: Final = 4
_FRENCH_POSTCODE: Final = re.compile(r"[0-9]{5}")


def _address_lines(value: object) -> object:
    return tuple(normal_text(line) for line in value) if isinstance(value, list | tuple) else value


def _address_problem(what: str, value: str) -> InvalidInput:
    return InvalidInput(
        f"PostalAddress.{what} is longer than {ADDRESS_LINE_LENGTH} characters: {value!r}",
        message_fr=f"Ligne d'adresse trop longue (au plus {ADDRESS_LINE_LENGTH} caractères) : « {value} ».",
        code="model.address_line_too_long",
        details={"at": what},
    )


@attrs.frozen
class PostalAddress:
    """A postal address in France (or abroad, with ``country``), as an envelope and the Treasury read it.

    ``lines`` are the lines above the postcode (street and number, building, lieu-dit, BP…): one to four,
    of at most 38 characters each; ``postcode`` is five digits in France; ``country`` is None for France,
    else the country's name (a foreign postcode is then free text).
    """

    lines: tuple[str, ...] = attrs.field(
        converter=_address_lines, validator=attrs.validators.deep_iterable(_non_empty)
    )
    postcode: str = attrs.field(converter=normal_text, validator=_non_empty)
    city: str = attrs.field(converter=normal_text, validator=_non_empty)
    country: str | None = attrs.field(default=None, converter=normal_text, validator=optional_text)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.lines, tuple) or not 1 <= len(self.lines) <= ADDRESS_LINES:
            raise InvalidInput(
                f"a postal address has 1 to {ADDRESS_LINES} lines above the postcode, got {self.lines!r}",
                message_fr=f"Une adresse postale compte de 1 à {ADDRESS_LINES} lignes avant le code postal.",
                code="model.address_lines",
                details={"at": "lines"},
            )
        for line in self.lines:
            if len(line) > ADDRESS_LINE_LENGTH:
                raise _address_problem("lines", line)
        if len(f"{self.postcode} {self.city}") > ADDRESS_LINE_LENGTH:
            raise _address_problem("city", f"{self.postcode} {self.city}")
        if self.country is not None and (not self.country.strip() or len(self.country) > ADDRESS_LINE_LENGTH):
            raise _address_problem("country", self.country)
        if self.in_france and not _FRENCH_POSTCODE.fullmatch(self.postcode):
            raise InvalidInput(
                f"a French postcode has five digits, got {self.postcode!r}",
                message_fr=f"Code postal invalide : « {self.postcode} » (cinq chiffres en France).",
                code="model.bad_postcode",
                details={"at": "postcode"},
            )

    @property
    def in_france(self) -> bool:
        return self.country is None or self.country.strip().casefold() == "france"

    def envelope(self) -> tuple[str, ...]:
        """The lines under the payer's name: the street lines, the postcode and city, the country abroad."""
        country = () if self.in_france or self.country is None else (self.country.upper(),)
        return (*self.lines, f"{self.postcode} {self.city}", *country)


@attrs.frozen
class Family:
    """A household (*foyer*): its guardians, the one who pays, its quotients, residence and postal address.

    ``address`` is the payer's postal address, which invoices and the Treasury's files print (None: unknown).

    A child of separated parents belongs to two families; each books and pays for its own days.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(converter=normal_text, validator=_non_empty)
    guardians: tuple[Guardian, ...] = attrs.field(converter=_guardians)
    payer_id: str = attrs.field(validator=identifier)
    residence: Residence = Residence.RESIDENT
    quotients: tuple[QuotientFamilial, ...] = attrs.field(converter=_quotients, default=())
    direct_debit: bool = False
    address: PostalAddress | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(PostalAddress))
    )

    def __attrs_post_init__(self) -> None:
        if not self.guardians:
            raise InvalidInput(f"family {self.id!r} has no guardian", code="model.no_guardian")
        if self.payer_id not in {g.id for g in self.guardians}:
            raise InvalidInput(
                f"payer {self.payer_id!r} is not a guardian of family {self.id!r}",
                message_fr="Le payeur doit être l'un des responsables du foyer.",
                code="model.payer_not_guardian",
            )
        for earlier, later in zip(self.quotients, self.quotients[1:], strict=False):
            if earlier.valid_until is None or earlier.valid_until >= later.valid_from:
                raise InvalidInput(
                    f"quotients of family {self.id!r} overlap around {later.valid_from}",
                    message_fr="Deux quotients familiaux se chevauchent.",
                    code="model.overlapping_quotients",
                )

    @property
    def payer(self) -> Guardian:
        return next(g for g in self.guardians if g.id == self.payer_id)

    def quotient_on(self, day: dt.date, rule: QfChangeRule = QfChangeRule.IMMEDIATELY) -> Decimal | None:
        """The QF in force on ``day`` under ``rule`` (billing passes the price list's ``qf_change``); None
        when unknown (0 is a known, real quotient). See ``quotient_in_force``."""
        quotient = quotient_in_force(self.quotients, day, rule)
        return None if quotient is None else quotient.value


class SchoolClass(enum.Enum):
    """The child's class, from petite section to CM2 (and collège for holiday centres)."""

    TPS = "TPS"
    PS = "PS"
    MS = "MS"
    GS = "GS"
    CP = "CP"
    CE1 = "CE1"
    CE2 = "CE2"
    CM1 = "CM1"
    CM2 = "CM2"
    COLLEGE = "college"

    @property
    def is_maternelle(self) -> bool:
        return self in (SchoolClass.TPS, SchoolClass.PS, SchoolClass.MS, SchoolClass.GS)


class Diet(enum.Enum):
    """Diets a canteen may record (CNIL: medical or lifestyle, never a religious label)."""

    NO_PORK = "sans_porc"
    NO_GLUTEN = "sans_gluten"
    VEGETARIAN = "vegetarien"


@attrs.frozen
class Child:
    """A child: one household, or two for separated parents (the first is the main one)."""

    id: str = attrs.field(validator=identifier)
    first_name: str = attrs.field(converter=normal_text, validator=_non_empty)
    last_name: str = attrs.field(converter=normal_text, validator=_non_empty)
    birth_date: dt.date = attrs.field(validator=_birth_date)
    family_ids: tuple[str, ...] = attrs.field(converter=_strings)
    school: str | None = attrs.field(default=None, converter=normal_text, validator=optional_text)
    school_class: SchoolClass | None = None
    pai: bool = False
    needs_support: bool = False
    diets: frozenset[Diet] = attrs.field(converter=_diets, factory=frozenset)

    def __attrs_post_init__(self) -> None:
        if not 1 <= len(self.family_ids) <= 2 or len(set(self.family_ids)) != len(self.family_ids):
            raise InvalidInput(
                f"child {self.id!r} must belong to one or two distinct households",
                code="model.child_households",
            )

    def age_on(self, day: dt.date) -> int:
        """Age in whole years on ``day``."""
        had_birthday = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (0 if had_birthday else 1)


@attrs.frozen
class Enrolment:
    """A child's *inscription* in a service for a period, by one household (which books and pays)."""

    id: str = attrs.field(validator=identifier)
    child_id: str = attrs.field(validator=identifier)
    family_id: str = attrs.field(validator=identifier)
    service_id: str = attrs.field(validator=identifier)
    period: DateRange = attrs.field(validator=attrs.validators.instance_of(DateRange))
    validated: bool = True


# -- bookings ---------------------------------------------------------------------------------


class BookingStatus(enum.Enum):
    """Where a booking stands.

    ``HELD``: a prepaid booking whose place is held while the family pays online (released if the payment
    does not arrive); ``WAITING``: on the waiting list; ``CANCELLED`` bookings are kept for history.
    """

    BOOKED = "booked"
    HELD = "held"
    WAITING = "waiting"
    CANCELLED = "cancelled"


def _aware_instant(instance: object, attribute: attrs.Attribute[dt.datetime], value: dt.datetime) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be an aware datetime, got {value!r}",
            message_fr="Date et heure sans fuseau horaire.",
            code="input.naive_datetime",
        )


@attrs.frozen
class Booking:
    """A *réservation*: a child × prestation × date, made by one household at an instant.

    ``paid`` is what the family actually paid for a prepaid booking (the credit it gets back on a cancellation
    within the deadline, whatever today's price); ``surcharge_code`` names the late-booking rule that applied.
    """

    child_id: str = attrs.field(validator=identifier)
    prestation_id: str = attrs.field(validator=identifier)
    day: dt.date = attrs.field(validator=plain_date)
    family_id: str = attrs.field(validator=identifier)
    status: BookingStatus = attrs.field(validator=attrs.validators.instance_of(BookingStatus))
    booked_at: dt.datetime = attrs.field(validator=_aware_instant)
    paid: Money | None = None
    surcharge_code: str | None = None

    @property
    def key(self) -> tuple[str, str, dt.date]:
        """What makes a booking unique: one child, one prestation, one date."""
        return (self.child_id, self.prestation_id, self.day)

    @property
    def is_active(self) -> bool:
        """Booked or held: the child has (or is about to have) a place."""
        return self.status in (BookingStatus.BOOKED, BookingStatus.HELD)


def _day_tuple(items: Iterable[dt.date]) -> tuple[dt.date, ...]:
    return tuple(items)


def _plain_dates(instance: object, attribute: attrs.Attribute[Any], value: tuple[dt.date, ...]) -> None:
    if not value:
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} needs at least one day",
            message_fr="Au moins une date est attendue.",
            code="input.no_day",
        )
    for day in value:
        plain_date(instance, attribute, day)
    if any(later <= earlier for earlier, later in itertools.pairwise(value)):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be increasing dates, each once",
            message_fr="Les dates doivent être croissantes et distinctes.",
            code="input.days_order",
        )


@attrs.frozen
class BookedDays:
    """The days one child is booked for one prestation with one status and one late-booking surcharge
    code: bookings as month-end billing reads them, a month of meals in one value instead of twenty.

    ``booked_days`` makes them from bookings; a store may read them so directly (the SQLite store groups
    a city's four million booking-days in SQL).
    """

    child_id: str = attrs.field(validator=identifier)
    prestation_id: str = attrs.field(validator=identifier)
    status: BookingStatus = attrs.field(validator=attrs.validators.instance_of(BookingStatus))
    days: tuple[dt.date, ...] = attrs.field(converter=_day_tuple, validator=_plain_dates)
    surcharge_code: str | None = None

    @property
    def is_active(self) -> bool:
        """Booked or held: the child has (or is about to have) a place on these days."""
        return self.status in (BookingStatus.BOOKED, BookingStatus.HELD)


def booked_days(bookings: Iterable[Booking | BookedDays]) -> tuple[BookedDays, ...]:
    """Bookings as runs of days: one ``BookedDays`` per child × prestation × status × surcharge code, in
    that order (no surcharge first), days increasing, each once. ``BookedDays`` given are kept as they are."""
    pairs: dict[tuple[str, str], list[Booking]] = {}
    kept: list[BookedDays] = []
    for booking in bookings:
        if not isinstance(booking, Booking):
            if not isinstance(booking, BookedDays):
                raise InvalidInput(f"expected a Booking, got {booking!r}", code="input.not_a_booking")
            kept.append(booking)
            continue
        key = (booking.child_id, booking.prestation_id)
        found = pairs.get(key)
        if found is None:
            pairs[key] = [booking]
        else:
            found.append(booking)
    # Runs are made from validated bookings: built without checking them again. A child's month of one
    # prestation is usually one status and one surcharge code: one run, told apart with ``is``.
    made: list[BookedDays] = []
    for (child_id, prestation_id), items in sorted(pairs.items()):
        status, code = items[0].status, items[0].surcharge_code
        if all(b.status is status and b.surcharge_code == code for b in items):
            made.append(
                _new_run(child_id, prestation_id, status, tuple(sorted({b.day for b in items})), code)
            )
            continue
        runs: dict[tuple[str, str], set[dt.date]] = {}
        for booking in items:
            runs.setdefault((booking.status.value, booking.surcharge_code or ""), set()).add(booking.day)
        for (value, text), days in sorted(runs.items()):
            made.append(
                _new_run(child_id, prestation_id, BookingStatus(value), tuple(sorted(days)), text or None)
            )
    return (*kept, *made) if kept else tuple(made)


_new_run: Final = trusted_builder(BookedDays)
