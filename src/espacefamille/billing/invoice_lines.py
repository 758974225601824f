"""A family's month priced into invoice lines: the run's context, the days billed, the lines and why.

``BillingContext`` is a régie's run (the commune, the period, the prestations billed, the due and debit
dates, the run's caches); ``FamilyMonth`` all one family's bill depends on. From them, ``_collect`` sorts
the family's days — fresh ones grouped by child × prestation × status × booked late, and days already
invoiced to regularise — and ``_LineBuilder`` turns them into lines: one per child × prestation × reason
× unit price, surcharges (late booking, presence without booking) as lines of their own, forfaits, and
what a day already invoiced is worth now (``billing.corrections`` writes its regularisation line). Both
the run (``billing.invoicing.bill_family``) and its pre-flight (``billing.preflight.check_family``) go
through them, so the pre-flight prices exactly what the run will.

Why one module of some 1,400 lines: the context's caches, the grouping of days and the line builder are
one hot path (four million booking-days for a city), shaped together so that a price situation is priced
once per run; the pieces share the status indices and the price situations' kinds, and a split would only
pass those back and forth. docs/invoicing.md has the rules in a régie's words.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Final, TypeAlias

import attrs

from espacefamille._internal.trusted import trusted_builder
from espacefamille.billing.corrections import CarriedBalance, _DayKey, _Invoiced, _regularisation_line
from espacefamille.billing.documents import Invoice, InvoiceLine
from espacefamille.billing.pricing import (
    ExplanationStep,
    FamilyFacts,
    LatePlan,
    PriceExplanation,
    PriceQuote,
    SurchargeQuote,
    late_plan,
    price_exceptional_tariff,
    price_quote,
    price_surcharge,
    situation_key,
)
from espacefamille.billing.tariffs import (
    FixedAmount,
    ForfaitDay,
    PrestationTariff,
    PriceList,
    PriceUnit,
    SurchargeKind,
    instalment_amounts,
    status_text,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput, MissingData, NotFound
from espacefamille.model import (
    BookedDays,
    Booking,
    BookingStatus,
    Child,
    Enrolment,
    Family,
    PaymentMode,
    Prestation,
    booked_days,
)
from espacefamille.money import ZERO, Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.policies import (
    AfterDeadlinePolicy,
)
from espacefamille.text import format_duration, month_name

__all__ = [
    "DEFAULT_DIRECT_DEBIT_DAY",
    "DEFAULT_PAYMENT_DELAY_DAYS",
    "BillingContext",
    "FamilyMonth",
    "service_ranks",
    "sibling_ranks",
]

DEFAULT_PAYMENT_DELAY_DAYS: Final = 30
DEFAULT_DIRECT_DEBIT_DAY: Final = 10

_LATE: Final = "surcharge.late_booking"
_LATE_EXCEPTIONAL: Final = "surcharge.late_booking.exceptional_tariff"
_LATE_NOT_BILLED: Final = "surcharge.late_booking.not_billed"
_new_line: Final = trusted_builder(InvoiceLine)
_UNBOOKED: Final = "surcharge.unbooked_presence"
_UNBOOKED_TOLERATED: Final = "surcharge.unbooked_presence.tolerated"

_PRESENT: Final = AttendanceStatus.PRESENT
_UNBOOKED_STATUS: Final = AttendanceStatus.PRESENT_UNBOOKED
_ACTIVE: Final = (BookingStatus.BOOKED, BookingStatus.HELD)


# Group keys hold a status's index, not the enum member: hashing an enum member runs Python code, and
# the keys are hashed for every booking-day of a city.
@attrs.frozen
class _Reasoned:
    """A day recorded with one of the commune's attendance reasons, besides its status: it is priced and
    invoiced as the reason (its own line), and otherwise counts as its ``status``."""

    status: AttendanceStatus
    reason: str

    @property
    def code(self) -> str:
        return f"attendance.reason.{self.reason}"

    @property
    def value(self) -> str:
        return self.reason

    def label(self, lang: str = "fr") -> str:
        return status_text(self.reason)


_Status: TypeAlias = AttendanceStatus | _Reasoned
# A child's rank in the household, the household's size, and what a tariff may read beyond them: the rank in
# the service, the age on the price list's first day, the school class (None: not read).
_Ranks: TypeAlias = tuple[int, int, int | None, int | None, str | None]
# Indices 0-5 are the statuses; the commune's reasons get theirs when first met (a handful per commune).
_STATUSES: Final[list[_Status]] = list(AttendanceStatus)
_INDEX: Final[dict[_Status, int]] = {status: index for index, status in enumerate(_STATUSES)}
_NEW_INDEX: Final = threading.Lock()


def _fact_index(fact: AttendanceFact) -> int:
    """The index of what a fact records: its status, or its status with the commune's reason."""
    reason = fact.reason
    if reason is None:
        return _INDEX[fact.status]
    key = _Reasoned(fact.status, reason)
    index = _INDEX.get(key)
    if index is None:
        with _NEW_INDEX:
            index = _INDEX.get(key)
            if index is None:
                _STATUSES.append(key)
                index = _INDEX[key] = len(_STATUSES) - 1
    return index


def _base_status(status: _Status) -> AttendanceStatus:
    return status.status if isinstance(status, _Reasoned) else status


_PRESENT_I: Final = _INDEX[AttendanceStatus.PRESENT]
_UNBOOKED_I: Final = _INDEX[AttendanceStatus.PRESENT_UNBOOKED]


# -- inputs -----------------------------------------------------------------------------------


def _children(items: Iterable[Child]) -> tuple[Child, ...]:
    return tuple(items)


def _bookings(items: Iterable[Booking | BookedDays]) -> tuple[BookedDays, ...]:
    return booked_days(items)


def _facts(items: Iterable[AttendanceFact]) -> tuple[AttendanceFact, ...]:
    return tuple(items)


def _invoices(items: Iterable[Invoice]) -> tuple[Invoice, ...]:
    return tuple(items)


def _counts(table: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    for key, count in table.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInput(
                f"earlier unbooked presences of {key} must be a count >= 0, got {count!r}",
                code="billing.bad_count",
            )
    return dict(table)


def _enrolments(items: Iterable[Enrolment]) -> tuple[Enrolment, ...]:
    enrolments = tuple(items)
    for enrolment in enrolments:
        if not isinstance(enrolment, Enrolment):
            raise InvalidInput(f"expected an Enrolment, got {enrolment!r}", code="billing.not_an_enrolment")
    return enrolments


def _day_set(items: Iterable[dt.date]) -> frozenset[dt.date]:
    days = frozenset(items)
    for day in days:
        _check_date("a changed day", day)
    return days


@attrs.frozen
class FamilyMonth:
    """Everything one family's month-end bill depends on, for streaming a city family by family.

    ``children`` are all the family's children (for the sibling rank); ``bookings`` (``Booking`` values,
    or ``BookedDays`` runs as a store may read them: either way kept as runs) and ``attendance`` cover the
    period, plus any earlier day whose facts changed after it was invoiced; ``issued`` are the
    family's documents already issued by the régie; ``carried`` its balance carried from earlier periods;
    ``unbooked_earlier`` counts, per (child id, prestation id), the presences without booking earlier in
    the school year, before the period (for the surcharge's yearly tolerance, ``unbooked_counts`` counts
    them from the family's documents); ``changed`` are the earlier days whose facts changed after their
    month was billed (``runs.changed_days`` of the unit of work): such a day is regularised if it was
    invoiced, billed now if it was not, and a carried line holding one is billed again from the day's facts
    (``days_to_read`` says which days to read for that). ``enrolments`` are the family's (validated)
    enrolments, for the prestations priced by forfait: each forfait due on a day of the period (or a changed
    day) is billed on that day, whatever the days booked (``tariffs.forfaits``).
    """

    family: Family
    children: tuple[Child, ...] = attrs.field(converter=_children)
    bookings: tuple[BookedDays, ...] = attrs.field(converter=_bookings)
    attendance: tuple[AttendanceFact, ...] = attrs.field(converter=_facts, default=())
    issued: tuple[Invoice, ...] = attrs.field(converter=_invoices, default=())
    carried: CarriedBalance | None = None
    unbooked_earlier: Mapping[tuple[str, str], int] = attrs.field(factory=dict, converter=_counts)
    changed: frozenset[dt.date] = attrs.field(factory=frozenset, converter=_day_set)
    enrolments: tuple[Enrolment, ...] = attrs.field(default=(), converter=_enrolments)


# -- the run's context ------------------------------------------------------------------------


class _Priced:
    """What a prestation needs for billing under one price list, worked out once per run."""

    __slots__ = (
        "count_started",
        "count_texts",
        "extra_facts",
        "late_plans",
        "late_policy",
        "minutes",
        "price_list",
        "tariff",
        "tariff_label",
        "timed",
        "unit",
    )

    def __init__(
        self,
        price_list: PriceList,
        tariff: PrestationTariff,
        count_started: bool,
        minutes: int | None,
        late_policy: AfterDeadlinePolicy | None,
        tariff_label: str,
    ) -> None:
        self.price_list = price_list
        self.tariff = tariff
        unit = self.unit = tariff.unit
        self.timed = unit.is_timed  # asked for every line: an enum lookup is not free
        self.count_started = count_started
        self.minutes = minutes
        self.late_policy = late_policy
        self.late_plans: dict[str, LatePlan | None] = {}  # per late booking's code, worked out once
        self.tariff_label = tariff_label
        self.count_texts: dict[int, str] = {}  # "16 jours", per number of days
        # The facts beyond the usual ones its criteria read (a grid by rank in the service, by age…):
        # billing works them out only for such a tariff.
        extra: set[str] = set()
        for criterion in tariff.criteria:
            extra.update(getattr(criterion, "extra_facts", ()))
        self.extra_facts = frozenset(extra) or None

    def late_plan(self, code: str) -> LatePlan | None:
        """How this prestation's late bookings stamped with ``code`` are billed (None: like any booking)."""
        plans = self.late_plans
        if code not in plans:
            plans[code] = late_plan(self.late_policy, code)
        return plans[code]


class _Template:
    """A main line for a number of days of one ``_Kind``, all but its dates: quantity, unit price, total,
    minutes, and the explanation's words before and after the list of dates."""

    __slots__ = ("after", "before", "minutes", "quantity", "total", "unit_price")

    def __init__(
        self,
        quantity: Decimal,
        unit_price: Decimal,
        total: Money,
        minutes: int | None,
        before: str,
        after: str,
    ) -> None:
        self.quantity = quantity
        self.unit_price = unit_price
        self.total = total
        self.minutes = minutes
        self.before = before
        self.after = after


class _Kind:
    """What a day of one attendance status costs in one price situation (prestation, price list, band or
    QF under a taux d'effort, residence, PAI, rank, size — ``pricing.situation_key``).

    Shared by every child in that situation during a run: the pricing path runs once per kind (and per
    number of days), not once per line. ``one_day`` prices one day (or one day's minutes).
    """

    __slots__ = (
        "late",
        "one_day",
        "priced",
        "reason",
        "status",
        "status_arg",
        "templates",
        "text",
        "unit_price",
        "words",
    )

    def __init__(self, priced: _Priced, status: _Status, status_arg: str | None, one_day: PriceQuote) -> None:
        self.priced = priced
        self.status = status
        # How the line names its status: a commune's reason in its price list's words.
        label = priced.price_list.reason_label(status.reason) if isinstance(status, _Reasoned) else None
        self.words = label or status.label("fr")
        self.reason = status.code
        self.status_arg = status_arg
        self.one_day = one_day
        self.unit_price = one_day.unit_price
        self.templates: dict[int, _Template] = {}
        # The late-booking line of a day of this kind, per booking code, once priced.
        self.late: dict[str, tuple[str, SurchargeQuote] | None] | None = None
        self.text: str | None = None

    def after(self, ctx: BillingContext, explanation: PriceExplanation) -> str:
        """``. `` and the sentence of ``explanation``: the kind's own (whatever the number of days), once."""
        if explanation is not self.one_day.explanation:
            return f". {ctx._message(explanation)}"
        if self.text is None:
            self.text = f". {ctx._message(explanation)}"
        return self.text


def _late_policy(commune: Commune, prestation_id: str) -> AfterDeadlinePolicy | None:
    rules = commune.booking_rules.get(prestation_id)
    return None if rules is None else rules.after_booking_deadline


def _check_count(name: str, value: object, minimum: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidInput(
            f"{name} must be an int from {minimum} to {maximum}, got {value!r}", code="billing.bad_parameter"
        )


def _check_date(name: str, value: object) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(f"{name} must be a date, got {value!r}", code="input.not_a_date")


def _next_month(day: dt.date, on: int) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, on)


@attrs.frozen
class BillingContext:
    """A régie's month-end run: the commune, the period, the issue date and the date rules.

    Built once per run; it works out which prestations are billed (the régie's *payable en fin de mois*
    ones), their tariffs, the due date and the direct-debit date.
    """

    commune: Commune
    regie_id: str
    period: DateRange
    issued_on: dt.date
    payment_delay_days: int = DEFAULT_PAYMENT_DELAY_DAYS
    direct_debit_day: int = DEFAULT_DIRECT_DEBIT_DAY
    prestations: Mapping[str, Prestation] = attrs.field(init=False, repr=False, eq=False)
    service_of: Mapping[str, str] = attrs.field(init=False, repr=False, eq=False)
    forfaits: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    due_on: dt.date = attrs.field(init=False, repr=False, eq=False)
    direct_debit_on: dt.date = attrs.field(init=False, repr=False, eq=False)
    _priced: dict[tuple[str, int], _Priced] = attrs.field(init=False, repr=False, eq=False)
    _month_list: PriceList | None = attrs.field(init=False, repr=False, eq=False)
    _facts: dict[tuple[object, ...], FamilyFacts] = attrs.field(init=False, repr=False, eq=False)
    _texts: dict[PriceExplanation, str] = attrs.field(init=False, repr=False, eq=False)
    _situations: dict[tuple[object, ...], list[_Kind | None]] = attrs.field(init=False, repr=False, eq=False)
    _dates: dict[tuple[dt.date, ...], tuple[tuple[dt.date, ...], str]] = attrs.field(
        init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.period, DateRange):
            raise InvalidInput(f"the period must be a DateRange, got {self.period!r}", code="billing.period")
        _check_date("issued_on", self.issued_on)
        if self.issued_on < self.period.end:
            raise InvalidInput(
                f"an invoice for {self.period.start}..{self.period.end} cannot be issued on "
                f"{self.issued_on}, before the period ends",
                message_fr="Une facture ne peut pas être émise avant la fin de la période facturée.",
                code="billing.issued_before_period_end",
            )
        _check_count("payment_delay_days", self.payment_delay_days, 0, 366)
        _check_count("direct_debit_day", self.direct_debit_day, 1, 28)
        self.commune.regie(self.regie_id)  # NotFound for an unknown régie
        prestations = {
            prestation.id: prestation
            for service in self.commune.services
            if service.regie_id == self.regie_id
            for prestation in service.prestations
            if prestation.payment_mode is PaymentMode.MONTH_END
        }
        debit = _next_month(self.period.end, self.direct_debit_day)
        if debit <= self.issued_on:
            debit = _next_month(self.issued_on, self.direct_debit_day)
        book = self.commune.tariffs
        month_list = None
        if prestations and book.price_lists:
            # No list on the first day: each day finds its own, and those without one are problems.
            with contextlib.suppress(MissingData):
                month_list = book.price_list_on(self.period.start)
        if month_list is not None and month_list.validity.end < self.period.end:
            month_list = None  # two price lists in the month: each day finds its own
        object.__setattr__(self, "prestations", prestations)
        object.__setattr__(self, "service_of", {key: value.service_id for key, value in prestations.items()})
        object.__setattr__(self, "forfaits", book.forfaits.intersection(prestations))
        object.__setattr__(self, "due_on", self.issued_on + dt.timedelta(days=self.payment_delay_days))
        object.__setattr__(self, "direct_debit_on", debit)
        object.__setattr__(self, "_priced", {})
        object.__setattr__(self, "_month_list", month_list)
        object.__setattr__(self, "_facts", {})
        object.__setattr__(self, "_texts", {})
        object.__setattr__(self, "_situations", {})
        object.__setattr__(self, "_dates", {})

    # Caches of the run (not part of the value): tariffs per prestation and price list, FamilyFacts per
    # situation, the price of a day per price situation and status (``_Kind``), the French sentence of
    # each price explanation, the French list of each set of dates. Each holds at most _CACHE_LIMIT
    # entries and starts again when full: a taux d'effort gives every quotient its own price, so a
    # city's run would otherwise keep one entry per family.

    def _price_list(self, day: dt.date) -> PriceList:
        month_list = self._month_list
        if month_list is not None and self.period.start <= day <= self.period.end:
            return month_list
        return self.commune.tariffs.price_list_on(day)

    def _prestation_pricing(self, prestation_id: str, day: dt.date) -> _Priced:
        price_list = self._price_list(day)
        key = (prestation_id, id(price_list))
        priced = self._priced.get(key)
        if priced is None:
            _, tariff, _ = self.commune.tariffs.priced_on(prestation_id, day)
            prestation = self.prestations[prestation_id]
            minutes = prestation.minutes
            if tariff.unit.is_timed and not minutes:
                raise MissingData(
                    f"prestation {prestation_id!r} is priced by the {tariff.unit.value} but has no hours",
                    message_fr=(
                        f"La prestation « {prestation.name} » est facturée à l'heure mais n'a pas d'horaires."
                    ),
                    code="billing.no_hours",
                )
            priced = _Priced(
                price_list,
                tariff,
                tariff.count_started,
                minutes,
                _late_policy(self.commune, prestation_id),
                tariff.label,
            )
            self._priced[key] = priced
        return priced

    def _family_facts(
        self, quotient: Decimal | None, family: Family, child: Child, ranks: _Ranks
    ) -> FamilyFacts:
        rank, size, service_rank, age, level = ranks
        key = (quotient, family.residence, child.pai, rank, size, service_rank, age, level)
        facts = self._facts.get(key)
        if facts is None:
            if len(self._facts) >= _CACHE_LIMIT:
                self._facts.clear()
            facts = self._facts[key] = FamilyFacts(
                quotient, family.residence, child.pai, rank, size, service_rank, age, level
            )
        return facts

    def _kinds_of(self, priced: _Priced, facts: FamilyFacts) -> list[_Kind | None]:
        """The kinds of the price situation of ``facts`` under ``priced``, by status index (filled as met)."""
        situation = (
            id(priced),
            situation_key(priced.tariff, facts),
        )  # priced is kept by the run: id is stable
        kinds = self._situations.get(situation)
        if kinds is None:
            if len(self._situations) >= _CACHE_LIMIT:
                self._situations.clear()
            kinds = self._situations[situation] = [None] * len(_STATUSES)
        return kinds

    def _kind(
        self, priced: _Priced, facts: FamilyFacts, index: int, prestation_id: str, day: dt.date
    ) -> _Kind:
        """A new kind: the day of status ``_STATUSES[index]`` priced once for the situation."""
        status = _STATUSES[index]
        status_arg = _status_argument(priced, prestation_id, status)
        minutes = priced.minutes if priced.timed else None
        one_day = price_quote(
            self.commune.tariffs,
            prestation_id,
            day,
            facts,
            1 if minutes is None else minutes,
            rounding=self.commune.rounding,
            status=status_arg,
        )
        return _Kind(priced, status, status_arg, one_day)

    def _dates_entry(self, days: Sequence[dt.date]) -> tuple[tuple[dt.date, ...], str]:
        """Sorted ``days`` without repeats, and their French list; most children of a month share their
        dates (every school day but an absence or two), so each list is written once."""
        key = tuple(days)
        entry = self._dates.get(key)
        if entry is None:
            if len(self._dates) >= _CACHE_LIMIT:
                self._dates.clear()
            unique = key if len(set(key)) == len(key) else tuple(sorted(set(key)))
            entry = self._dates[key] = (unique, _days_text(unique))
        return entry

    def _dates_text(self, days: Sequence[dt.date]) -> str:
        return self._dates_entry(days)[1]

    def _message(self, explanation: PriceExplanation) -> str:
        # Families in the same price situation share one sentence: babel writes it once per run.
        text = self._texts.get(explanation)
        if text is None:
            if len(self._texts) >= _CACHE_LIMIT:
                self._texts.clear()
            text = self._texts[explanation] = explanation.message_fr
        return text


#: Entries a run's cache holds before it starts again (see ``BillingContext``): enough for the situations a
#: city shares (bands, ranks, sets of school days), small next to a city of taux-d'effort quotients.
_CACHE_LIMIT: Final = 50_000


def sibling_ranks(children: Iterable[Child]) -> dict[str, int]:
    """Each child's rank among a family's children: order of birth, eldest first (twins by child id)."""
    ordered = sorted(children, key=lambda child: (child.birth_date, child.id))
    return {child.id: rank for rank, child in enumerate(ordered, start=1)}


def service_ranks(
    children: Iterable[Child], bookings: Iterable[BookedDays], service_of: Mapping[str, str]
) -> dict[tuple[str, str], int]:
    """Each child's rank among the household's children enrolled in a service, keyed (service id, child id).

    A child counts as enrolled in a service when the household books one of the service's prestations for
    it in the month billed (a booking needs an enrolment): its rank depends on the household's bookings,
    not on which or how many other children a caller gives, nor in which order. Eldest first, by birth
    date (twins by child id), as ``sibling_ranks``.
    """
    by_id = {child.id: child for child in children}
    enrolled: dict[str, set[str]] = {}
    for run in bookings:
        service_id = service_of.get(run.prestation_id)
        if service_id is not None and run.status in _ACTIVE and run.child_id in by_id:
            enrolled.setdefault(service_id, set()).add(run.child_id)
    ranks: dict[tuple[str, str], int] = {}
    for service_id, child_ids in enrolled.items():
        for child_id, rank in sibling_ranks(by_id[child_id] for child_id in child_ids).items():
            ranks[(service_id, child_id)] = rank
    return ranks


# -- French wording ---------------------------------------------------------------------------


def _euros(amount: Money) -> str:
    """``1 234,50 €`` exactly as ``Money.format`` writes it, without babel's cost on every line."""
    cents = amount.cents
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    grouped = f"{whole:,}".replace(",", "\u202f")
    return f"{sign}{grouped},{rest:02d}\u00a0€"


def _day_number(day: dt.date) -> str:
    return "1er" if day.day == 1 else str(day.day)


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]


def _days_text(days: Sequence[dt.date]) -> str:
    """``le 12 novembre 2026``, ``les 2, 3 et 5 novembre 2026``, ``les 30 novembre et 1er décembre 2026``…"""
    if len(days) == 1:
        day = days[0]
        return f"le {_day_number(day)} {month_name(day.month)} {day.year}"
    months = []
    for (year, month), group in itertools.groupby(days, key=lambda day: (day.year, day.month)):
        numbers = [_day_number(day) for day in group]
        months.append(f"{_and(numbers)} {month_name(month)} {year}")
    return "les " + _and(months)


_UNIT_NOUNS: Final = {
    PriceUnit.DAY: ("jour", "jours"),
    PriceUnit.HALF_DAY: ("demi-journée", "demi-journées"),
    PriceUnit.BLOCK: ("forfait", "forfaits"),
}


def _count_text(priced: _Priced, count: int) -> str:
    text = priced.count_texts.get(count)
    if text is None:
        if priced.minutes is not None and priced.timed:
            noun = "accueil" if count == 1 else "accueils"
            text = f"{count} {noun} de {format_duration(priced.minutes)}"
            if count != 1:
                text = f"{text}, soit {format_duration(priced.minutes * count)}"
        else:
            singular, plural = _UNIT_NOUNS[priced.unit]
            text = f"{count} {singular if count == 1 else plural}"
        priced.count_texts[count] = text
    return text


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


# -- pricing a group of days ------------------------------------------------------------------


def _decimal(units: Fraction) -> Decimal:
    """Price units as a Decimal: exact for days and halves, to 6 places for thirds (``minutes`` is exact)."""
    if units.denominator == 1:
        return Decimal(units.numerator)
    value = Decimal(units.numerator) / Decimal(units.denominator)
    exact = value.quantize(Decimal("0.000001"))
    return exact.normalize() if exact == value else exact


def _status_argument(priced: _Priced, prestation_id: str, status: _Status) -> str | None:
    """The status to price with; None is the plain price (present). Every other status has its effect in
    the price list (the list's own, or the default of a status it does not name)."""
    return None if status is _PRESENT else str(status.value)


def _per_occurrence(priced: _Priced, prestation_id: str, status: str | None) -> bool:
    if status is None:
        return False
    entry = priced.price_list.priced(prestation_id)
    return entry is not None and isinstance(entry[1].get(status), FixedAmount)


class _Group:
    """The days of one child × prestation × status × price situation, and how they price."""

    __slots__ = ("child", "day", "facts", "kind", "late", "prestation_id", "priced", "status")

    def __init__(
        self,
        child: Child,
        prestation_id: str,
        facts: FamilyFacts,
        kind: _Kind,
        day: dt.date,
        late: str | None,
    ) -> None:
        self.child = child
        self.prestation_id = prestation_id
        self.status = kind.status
        self.facts = facts
        self.priced = kind.priced
        self.kind = kind
        self.day = day
        self.late = late


def _quote(ctx: BillingContext, group: _Group, quantity: int) -> PriceQuote:
    return price_quote(
        ctx.commune.tariffs,
        group.prestation_id,
        group.day,
        group.facts,
        quantity,
        rounding=ctx.commune.rounding,
        status=group.kind.status_arg,
    )


@attrs.frozen
class _DaysPrice:
    """A group of days priced: unit price, units, exact minutes, rounded total and the quote behind it."""

    unit_price: Decimal
    units: Fraction
    minutes: int | None
    total: Money
    quote: PriceQuote


def _price_days(ctx: BillingContext, group: _Group, count: int) -> _DaysPrice:
    priced = group.priced
    if not priced.timed:
        quote = _quote(ctx, group, count)
        return _DaysPrice(quote.unit_price, quote.billed_units, None, quote.total, quote)
    assert priced.minutes is not None
    minutes = priced.minutes * count
    if priced.count_started or _per_occurrence(priced, group.prestation_id, group.kind.status_arg):
        # Started units and fixed amounts count per attendance, never over the month's minutes.
        quote = group.kind.one_day
        units = quote.billed_units * count
        total = ctx.commune.rounding.line_total(quote.unit_price, units.numerator)
        return _DaysPrice(quote.unit_price, units, minutes, total, quote)
    quote = _quote(ctx, group, minutes)  # exact minutes: 1 h 05 is 65/60 of the hourly price
    return _DaysPrice(quote.unit_price, quote.billed_units, minutes, quote.total, quote)


def _template(ctx: BillingContext, group: _Group, count: int) -> _Template:
    """The main line of ``count`` days of the group's kind, but for its dates: priced once per run."""
    kind = group.kind
    template = kind.templates.get(count)
    if template is None:
        priced_days = _price_days(ctx, group, count)
        template = kind.templates[count] = _Template(
            _decimal(priced_days.units),
            priced_days.unit_price,
            priced_days.total,
            priced_days.minutes,
            f"{_capitalised(kind.words)} : {_count_text(kind.priced, count)}, ",
            kind.after(ctx, priced_days.quote.explanation),
        )
    return template


def _line_label(prestation: Prestation, child: Child) -> str:
    return f"{prestation.name} — {child.first_name}"


def _surcharge_line(
    ctx: BillingContext,
    group: _Group,
    label: str,
    reason: str,
    days: list[dt.date],
    surcharge: SurchargeQuote,
) -> InvoiceLine:
    count = len(days)
    units = surcharge.billed_units * count
    minutes = None
    timed = group.priced.timed and group.priced.minutes is not None
    if timed and not surcharge.per_occurrence and surcharge.billed_units:
        minutes = (group.priced.minutes or 0) * count
    explanation = (
        f"{_LINE_PREFIXES.get(reason, 'Majoration')} : {_count_text(group.priced, count)}, "
        f"{ctx._dates_text(days)}. {ctx._message(surcharge.explanation)}"
    )
    return InvoiceLine(
        group.child.id,
        group.prestation_id,
        label,
        reason,
        days,
        _decimal(units),
        surcharge.unit_price,
        surcharge.total * count,
        explanation,
        None,
        minutes,
    )


_LINE_PREFIXES: Final = {
    _LATE_EXCEPTIONAL: "Réservation après le délai",
    _LATE_NOT_BILLED: "Réservation après le délai",
}
_LATE_BASES: Final = {
    _LATE: ", réservation tardive",
    _LATE_EXCEPTIONAL: ", tarif exceptionnel après le délai",
    _LATE_NOT_BILLED: ", réservation après le délai sans supplément",
}


def _late_line(ctx: BillingContext, group: _Group, one_day: PriceQuote) -> tuple[str, SurchargeQuote] | None:
    """The reason and price of the late-booking line of a day of ``group`` (booked late), if any.

    A day its attendance bills nothing (an absence at 0 €, a closure) gets none, whatever the policy; a
    present day gets what the price preview announced, even at a 0 € tariff.
    """
    assert group.late is not None
    plan = group.priced.late_plan(group.late)
    if plan is None or (one_day.status is not None and not one_day.unit_price):
        return None
    book = ctx.commune.tariffs
    if plan.rule is not None:
        surcharge = price_surcharge(book, one_day, SurchargeKind.LATE_BOOKING, rule=plan.rule)
        return None if surcharge is None else (_LATE, surcharge)
    if plan.price is not None:
        supplement = price_exceptional_tariff(book, one_day, plan.price)
        return None if supplement is None else (_LATE_EXCEPTIONAL, supplement)
    # The policy that accepted the booking is gone: the usual price only, and a 0 € line that says why.
    step = ExplanationStep("tariff.late_booking_not_billed", (plan.accepted_by,))
    explanation = PriceExplanation(one_day.explanation.price_list, one_day.explanation.validity, [step])
    occurrences = one_day.occurrences
    nothing = SurchargeQuote(
        SurchargeKind.LATE_BOOKING,
        one_day.prestation_id,
        one_day.day,
        occurrences,
        0,
        True,
        Fraction(occurrences),
        Decimal(0),
        ZERO,
        explanation,
    )
    return _LATE_NOT_BILLED, nothing


def _unbooked_surcharge(
    ctx: BillingContext, one_day: PriceQuote, earlier: int
) -> tuple[str, SurchargeQuote] | None:
    surcharge = price_surcharge(
        ctx.commune.tariffs, one_day, SurchargeKind.UNBOOKED_PRESENCE, earlier_occurrences=earlier
    )
    if surcharge is None:
        return None
    return (_UNBOOKED if not surcharge.tolerated else _UNBOOKED_TOLERATED), surcharge


# -- a family's days --------------------------------------------------------------------------


# Keys and values end with the code of the decision that accepted a late booking (None: booked in time).
_Groups = dict[tuple[str, str, int, str | None], list[dt.date]]
_Checks = dict[_DayKey, tuple[_Status | None, str | None]]


def _collect(ctx: BillingContext, month: FamilyMonth, invoiced: _Invoiced | None) -> tuple[_Groups, _Checks]:
    """The family's billable days: fresh ones grouped by child × prestation × status × booked-late, and
    the already-invoiced ones to check for a regularisation (None: no longer billable)."""
    prestations = ctx.prestations
    period_start, period_end = ctx.period.start, ctx.period.end
    facts, pair_facts = _recorded(ctx, month)

    # The hot loop of a city's run (four million booking-days): as little as possible per day. Bookings
    # come as runs of days (child × prestation × status × surcharge); a run with no fact recorded, inside
    # the period, is all presences and joins its group whole.
    groups: _Groups = {}
    inactive: set[_DayKey] = set()
    consumed: set[_DayKey] = set()
    checks: _Checks = {}
    check_all = invoiced is not None
    # Days join their group in any order: pricing sorts each group's days (and bills a day once).
    for run in month.bookings:
        child_id = run.child_id
        prestation_id = run.prestation_id
        if prestation_id not in prestations:
            continue
        days = run.days
        if run.status not in _ACTIVE:
            inactive.update((child_id, prestation_id, day) for day in days)
            continue
        late = run.surcharge_code  # the code of the decision that accepted a late booking
        recorded_days = pair_facts.get((child_id, prestation_id))
        if not check_all and period_start <= days[0] and days[-1] <= period_end:
            # Days without a fact are presences: they join their group at once, the others one by one.
            if recorded_days is None:
                groups.setdefault((child_id, prestation_id, _PRESENT_I, late), []).extend(days)
                continue
            present = [day for day in days if day not in recorded_days]
            if present:
                groups.setdefault((child_id, prestation_id, _PRESENT_I, late), []).extend(present)
                if len(present) == len(days):
                    continue
                days = tuple(day for day in days if day in recorded_days)
        for day in days:
            status = _PRESENT_I
            if recorded_days is not None:
                recorded = recorded_days.get(day)
                if recorded is not None:
                    consumed.add((child_id, prestation_id, day))
                    if recorded != _UNBOOKED_I:  # booked after all: an ordinary presence
                        status = recorded
            if check_all or not period_start <= day <= period_end:
                checks[(child_id, prestation_id, day)] = (_STATUSES[status], late)
                continue
            groups.setdefault((child_id, prestation_id, status, late), []).append(day)

    _unbooked_facts(facts, consumed, inactive, checks)
    return groups, _sort_checks(ctx, checks, groups, invoiced, month.changed)


def _recorded(
    ctx: BillingContext, month: FamilyMonth
) -> tuple[dict[_DayKey, int], dict[tuple[str, str], dict[dt.date, int]]]:
    """The attendance facts by day (the last one of a day wins), and the same per child × prestation."""
    prestations = ctx.prestations
    facts: dict[_DayKey, int] = {}
    index_of = _INDEX
    for fact in month.attendance:
        if fact.prestation_id in prestations:
            index = index_of[fact.status] if fact.reason is None else _fact_index(fact)
            facts[(fact.child_id, fact.prestation_id, fact.day)] = index
    pair_facts: dict[tuple[str, str], dict[dt.date, int]] = {}
    for (child_id, prestation_id, day), index in facts.items():
        pair_facts.setdefault((child_id, prestation_id), {})[day] = index
    return facts, pair_facts


def _sort_checks(
    ctx: BillingContext,
    checks: _Checks,
    groups: _Groups,
    invoiced: _Invoiced | None,
    changed: frozenset[dt.date],
) -> _Checks:
    """Days to check: those already invoiced are to regularise; the others of the period, or changed
    since their own period was billed, are billed fresh (added to ``groups``)."""
    period_start, period_end = ctx.period.start, ctx.period.end
    regularise: _Checks = {}
    for day_key, (status_now, late) in checks.items():
        day = day_key[2]
        if invoiced is not None and day_key in invoiced.entries:
            regularise[day_key] = (status_now, late)
        elif status_now is not None and (period_start <= day <= period_end or day in changed):
            groups.setdefault((day_key[0], day_key[1], _INDEX[status_now], late), []).append(day)
        # else: a day of another period, unchanged and never invoiced, belongs to that period's run
    if invoiced is not None:
        for day_key in invoiced.entries:
            day = day_key[2]
            if day_key not in regularise and (period_start <= day <= period_end or day in changed):
                regularise[day_key] = (None, None)  # invoiced, and no longer booked
    return regularise


def _unbooked_facts(
    facts: Mapping[_DayKey, int], consumed: set[_DayKey], inactive: set[_DayKey], checks: _Checks
) -> None:
    """Facts on days without an active booking: a presence there is a presence without booking."""
    for day_key, index in facts.items():
        if day_key in consumed:
            continue
        recorded = _STATUSES[index]
        base = _base_status(recorded)
        if base is _PRESENT or base is _UNBOOKED_STATUS:
            checks[day_key] = (_UNBOOKED_STATUS, None)
        elif base is AttendanceStatus.CANCELLED_IN_TIME and day_key in inactive:
            checks[day_key] = (recorded, None)
        # else: an absence or a closure on a day that was not booked: nothing to bill


_Forfaits = dict[_DayKey, ForfaitDay]


def _with_forfaits(ctx: BillingContext, month: FamilyMonth) -> tuple[FamilyMonth, _Forfaits]:
    """The family's month with its forfaits as booked days: one day per forfait due (its key day) in the
    period or on a changed day, for each enrolment in a service with a prestation priced by forfait. The
    bookings and attendance facts of those prestations are not what bills them, and are left out."""
    forfaits = ctx.forfaits
    if not forfaits:
        return month, {}
    family_id = month.family.id
    spans = [ctx.period] + [DateRange(day, day) for day in sorted(month.changed) if day not in ctx.period]
    book = ctx.commune.tariffs
    due: _Forfaits = {}
    for enrolment in month.enrolments:
        if not enrolment.validated or enrolment.family_id != family_id:
            continue
        for prestation_id in sorted(forfaits):
            if ctx.service_of[prestation_id] != enrolment.service_id:
                continue
            for span in spans:
                for _, forfait_day in book.forfaits_due(prestation_id, enrolment.period, span):
                    due.setdefault((enrolment.child_id, prestation_id, forfait_day.day), forfait_day)
    runs = [run for run in month.bookings if run.prestation_id not in forfaits]
    runs.extend(
        BookedDays(child_id, prestation_id, BookingStatus.BOOKED, (day,))
        for child_id, prestation_id, day in sorted(due)
    )
    facts = [fact for fact in month.attendance if fact.prestation_id not in forfaits]
    return attrs.evolve(month, bookings=runs, attendance=facts), due


# -- a family's lines -------------------------------------------------------------------------


# A child's price situation for a prestation: the child, its FamilyFacts, the prestation's pricing, the
# kinds of the situation by status index, and the lines' label.
_Base = tuple[Child, FamilyFacts, _Priced, list[_Kind | None], str]


class _LineBuilder:
    """Turns one family's grouped days into invoice lines."""

    def __init__(
        self,
        ctx: BillingContext,
        family: Family,
        children: Mapping[str, Child],
        ranks: Mapping[str, int],
        size: int,
        unbooked_earlier: Mapping[tuple[str, str], int],
        invoiced: _Invoiced | None,
    ) -> None:
        self.ctx = ctx
        self.family = family
        self.children = children
        self.ranks = ranks
        self.size = size
        self.unbooked_earlier = unbooked_earlier
        self.invoiced = invoiced
        self.labels: dict[tuple[str, str], str] = {}
        self.month_quotient: tuple[bool, Decimal | None] | None = None
        self.steady: bool | None = None  # one price list and one QF for the whole period
        self.bases: dict[tuple[str, str], _Base] = {}
        # Per child (or child × prestation for a tariff reading more), for its last QF and price list.
        self.facts: dict[object, tuple[Decimal | None, _Priced | None, FamilyFacts]] = {}
        self.unbooked_days: dict[tuple[str, str], list[dt.date]] = {}
        self.bookings: tuple[BookedDays, ...] = ()
        self.forfaits: _Forfaits = {}  # the forfaits due, by child × prestation × key day
        self.service_ranks: dict[tuple[str, str], int] | None = None

    def service_rank(self, child: Child, prestation_id: str) -> int:
        """The child's rank among the household's children booked in the prestation's service."""
        rank = self.ranks[child.id]
        if self.service_ranks is None:
            self.service_ranks = service_ranks(self.children.values(), self.bookings, self.ctx.service_of)
        service_id = self.ctx.service_of[prestation_id]
        # A child billed without a booking of the service (a presence without booking): ranked last of it.
        service_rank = self.service_ranks.get((service_id, child.id))
        if service_rank is None:
            service_rank = 1 + sum(1 for (service, _) in self.service_ranks if service == service_id)
        return min(service_rank, rank)

    def _extra(self, child: Child, prestation_id: str, priced: _Priced) -> _Ranks:
        """The child's ranks and the facts its tariff reads beyond the usual ones."""
        extra = priced.extra_facts or frozenset()
        service_rank = self.service_rank(child, prestation_id) if "service_rank" in extra else None
        # The age on the list's first day; a child born since is 0 (its first band), never -1.
        age = max(0, child.age_on(priced.price_list.validity.start)) if "age" in extra else None
        level = child.school_class.value if "school_level" in extra and child.school_class else None
        return self.ranks[child.id], self.size, service_rank, age, level

    def child(self, child_id: str) -> Child:
        child = self.children.get(child_id)
        if child is None:
            raise NotFound(
                f"child {child_id!r} is booked by family {self.family.id!r} but not given with it",
                message_fr="Un enfant réservé n'est pas rattaché au foyer facturé.",
                code="billing.unknown_child",
            )
        return child

    def label(self, child: Child, prestation_id: str) -> str:
        key = (child.id, prestation_id)
        label = self.labels.get(key)
        if label is None:
            label = self.labels[key] = _line_label(self.ctx.prestations[prestation_id], child)
        return label

    def quotient(self, day: dt.date) -> Decimal | None:
        """The QF in force on ``day`` under its price list's ``qf_change`` rule (never backdated)."""
        ctx = self.ctx
        if ctx.period.start <= day <= ctx.period.end:
            if self.month_quotient is None:
                start, end = ctx.period.start, ctx.period.end
                month_list = ctx._month_list
                constant = month_list is not None  # else the rule itself may change within the month
                if month_list is not None:
                    rule = month_list.qf_change
                    # The QF can only change where a quotient comes into force or ends.
                    edges = [q.in_force_from(rule) for q in self.family.quotients] + [
                        q.valid_until + dt.timedelta(days=1) for q in self.family.quotients if q.valid_until
                    ]
                    constant = not any(start < edge <= end for edge in edges)
                # Not constant: each day reads its own (the first may have no price list to read it by).
                self.month_quotient = (constant, self._quotient_on(start) if constant else None)
            constant, value = self.month_quotient
            if constant:
                return value
        return self._quotient_on(day)

    def _quotient_on(self, day: dt.date) -> Decimal | None:
        return self.family.quotient_on(day, self.ctx._price_list(day).qf_change)

    def base(self, child_id: str, prestation_id: str, day: dt.date) -> _Base:
        """The child's price situation for a prestation on ``day``."""
        child = self.child(child_id)
        ctx = self.ctx
        quotient = self.quotient(day)
        priced = ctx._prestation_pricing(prestation_id, day)
        extra = priced.extra_facts
        if extra is None:  # the usual tariff: the child's facts are the same for every prestation
            known = self.facts.get(child_id)
            if known is not None and known[0] is quotient and known[1] is None:
                facts = known[2]
            else:
                rank = self.ranks[child.id]
                facts = ctx._family_facts(quotient, self.family, child, (rank, self.size, None, None, None))
                self.facts[child_id] = (quotient, None, facts)
        else:
            known = self.facts.get((child_id, prestation_id))
            if known is not None and known[0] is quotient and known[1] is priced:
                facts = known[2]
            else:
                facts = ctx._family_facts(
                    quotient, self.family, child, self._extra(child, prestation_id, priced)
                )
                self.facts[(child_id, prestation_id)] = (quotient, priced, facts)
        label = self.label(child, prestation_id)
        return child, facts, priced, ctx._kinds_of(priced, facts), label

    def group(self, child_id: str, prestation_id: str, index: int, late: str | None, day: dt.date) -> _Group:
        """Days of status ``_STATUSES[index]`` from ``day`` on (in one price situation)."""
        base, kind = self.locate(child_id, prestation_id, index, day)
        return _Group(base[0], prestation_id, base[1], kind, day, late)

    def is_steady(self) -> bool:
        """One price list and one QF all the period: a child's situation is the same on every day of it."""
        if self.steady is None:
            self.steady = False  # two price lists, or none on the first day
            if self.ctx._month_list is not None:
                self.quotient(self.ctx.period.start)
                assert self.month_quotient is not None
                self.steady = self.month_quotient[0]
        return self.steady

    def locate(self, child_id: str, prestation_id: str, index: int, day: dt.date) -> tuple[_Base, _Kind]:
        """The child's situation for the prestation on ``day``, and its kind for status ``index``."""
        ctx = self.ctx
        if self.is_steady() and ctx.period.start <= day <= ctx.period.end:
            # One price list and one QF all month: a child's situation is the same on every day.
            key = (child_id, prestation_id)
            base = self.bases.get(key)
            if base is None:
                base = self.bases[key] = self.base(child_id, prestation_id, day)
        else:
            base = self.base(child_id, prestation_id, day)
        kinds = base[3]
        if index >= len(kinds):  # a commune's reason met after the situation's kinds were made
            kinds.extend([None] * (index + 1 - len(kinds)))
        kind = kinds[index]
        if kind is None:
            kind = kinds[index] = ctx._kind(base[2], base[1], index, prestation_id, day)
        return base, kind

    def split(self, days: list[dt.date]) -> Collection[list[dt.date]]:
        """Days of one group by price situation (price list and QF); one piece in the usual month."""
        ctx = self.ctx
        if self.is_steady() and ctx.period.start <= days[0] and days[-1] <= ctx.period.end:
            return (days,)
        pieces: dict[tuple[object, ...], list[dt.date]] = {}
        for day in days:
            key = (id(ctx._price_list(day)), self.quotient(day))
            pieces.setdefault(key, []).append(day)
        return pieces.values()

    def earlier_unbooked(self, child_id: str, prestation_id: str, day: dt.date) -> int:
        before = self.unbooked_earlier.get((child_id, prestation_id), 0)
        days = self.unbooked_days.get((child_id, prestation_id), [])
        return before + sum(1 for other in days if other < day)

    def fresh_lines(
        self,
        groups: _Groups,
        regularise: Mapping[_DayKey, tuple[_Status | None, str | None]],
    ) -> list[InvoiceLine]:
        ctx = self.ctx
        period = ctx.period
        for (child_id, prestation_id, index, _), days in groups.items():
            if index == _UNBOOKED_I:
                self.unbooked_days.setdefault((child_id, prestation_id), []).extend(days)
        for (child_id, prestation_id, day), (status_now, _) in regularise.items():
            if status_now is _UNBOOKED_STATUS and period.start <= day <= period.end:
                self.unbooked_days.setdefault((child_id, prestation_id), []).append(day)

        # Price every piece, then merge pieces of one child × prestation × reason × unit price.
        mains: dict[
            tuple[str, str, str, Decimal], list[tuple[_Base, _Kind, Sequence[dt.date], str | None]]
        ] = {}
        surcharges: dict[
            tuple[str, str, str, Decimal, Money], tuple[_Group, SurchargeQuote, list[dt.date]]
        ] = {}
        ranks = self.ranks
        for (child_id, prestation_id, index, late), days in sorted(
            groups.items(), key=lambda item: (ranks.get(item[0][0], 0), item[0][:3], item[0][3] or "")
        ):
            days.sort()
            unique, whole_text = ctx._dates_entry(days)
            text: str | None = whole_text
            if len(unique) != len(days):
                days[:] = unique  # the same day booked twice is billed once
            pieces: Collection[Sequence[dt.date]] = self.split(days)
            if len(pieces) != 1:
                text = None
            else:
                pieces = (unique,)  # the run's tuple of these dates, shared by every line of the same dates
            for piece in pieces:
                base, kind = self.locate(child_id, prestation_id, index, piece[0])
                mains.setdefault((child_id, prestation_id, kind.reason, kind.unit_price), []).append(
                    (base, kind, piece, text)
                )
                if not late and index != _UNBOOKED_I:
                    continue
                group = _Group(base[0], prestation_id, base[1], kind, piece[0], late)
                if late:
                    known = kind.late
                    if known is None:
                        known = kind.late = {}
                    if late not in known:
                        known[late] = _late_line(ctx, group, kind.one_day)
                    found = known[late]
                    if found is not None:
                        self._add_surcharge(surcharges, group, found[0], found[1], piece)
                if index == _UNBOOKED_I:
                    one_day = kind.one_day
                    for day in piece:
                        earlier = self.earlier_unbooked(child_id, prestation_id, day)
                        found = _unbooked_surcharge(ctx, one_day, earlier)
                        if found is not None:
                            self._add_surcharge(surcharges, group, found[0], found[1], [day])
        lines = self.main_lines(mains)
        for (_, prestation_id, reason, _, _), (group, surcharge, days) in surcharges.items():
            days.sort()
            lines.append(
                _surcharge_line(ctx, group, self.label(group.child, prestation_id), reason, days, surcharge)
            )
        if surcharges:  # main lines already come in that order (groups were sorted so)
            lines.sort(key=lambda line: (ranks.get(line.child_id, 0), line.child_id, line.prestation_id))
        return lines

    def main_lines(
        self,
        mains: Mapping[
            tuple[str, str, str, Decimal], list[tuple[_Base, _Kind, Sequence[dt.date], str | None]]
        ],
    ) -> list[InvoiceLine]:
        """One line per child × prestation × reason × unit price, and per forfait due."""
        lines: list[InvoiceLine] = []
        forfaits = self.ctx.forfaits
        for (_, prestation_id, _, _), merged in mains.items():
            if prestation_id in forfaits:  # a line per forfait due, whatever its price
                lines.extend(
                    self.forfait_line(base, kind, prestation_id, day)
                    for base, kind, piece, _ in merged
                    for day in piece
                )
                continue
            base, kind, line_days, line_text = merged[0]
            first = line_days[0]
            if len(merged) > 1:  # two price situations, one price: one line, priced once
                line_days = sorted(day for _, _, piece, _ in merged for day in piece)
                line_text = None
            lines.append(self.main_line(base, kind, prestation_id, first, line_days, line_text))
        return lines

    def main_line(
        self,
        base: _Base,
        kind: _Kind,
        prestation_id: str,
        first: dt.date,
        days: Sequence[dt.date],
        text: str | None,
    ) -> InvoiceLine:
        """The line of ``days`` of a kind (``first``: the first day of its first piece, for pricing)."""
        ctx = self.ctx
        template = kind.templates.get(len(days))
        if template is None:
            template = _template(ctx, _Group(base[0], prestation_id, base[1], kind, first, None), len(days))
        if text is None:
            text = ctx._dates_text(days)
        return _new_line(  # priced here from validated values: no need to check them again
            base[0].id,
            prestation_id,
            base[4],
            kind.reason,
            days if type(days) is tuple else tuple(days),
            template.quantity,
            template.unit_price,
            template.total,
            template.before + text + template.after,
            None,
            template.minutes,
        )

    def forfait_due(self, kind: _Kind, key: _DayKey) -> tuple[ForfaitDay, Money, str]:
        """The forfait due on a key day, what it costs (an instalment: its share of the yearly price) and
        its explanation."""
        forfait = self.forfaits[key]
        one_day = kind.one_day
        message = self.ctx._message(one_day.explanation)
        if forfait.share is not None:
            enrolled, days = forfait.share
            amount = self.ctx.commune.rounding.round(one_day.total.amount * enrolled / days)
            return forfait, amount, f"{forfait.label} : {_euros(amount)}. {message}"
        if forfait.index is None or forfait.count is None:
            return forfait, one_day.total, f"{forfait.label}. {message}"
        amount = instalment_amounts(one_day.total, forfait.count)[forfait.index - 1]
        share = f"{forfait.label} : {_euros(amount)} sur {_euros(one_day.total)}. {message}"
        return forfait, amount, share

    def forfait_line(self, base: _Base, kind: _Kind, prestation_id: str, day: dt.date) -> InvoiceLine:
        """The line of one forfait (or instalment) due on its key day."""
        forfait, amount, text = self.forfait_due(kind, (base[0].id, prestation_id, day))
        return _new_line(
            base[0].id,
            prestation_id,
            base[4],
            forfait.code,
            (day,),
            Decimal(1),
            amount.amount,
            amount,
            text,
            None,
            None,
        )

    @staticmethod
    def _add_surcharge(
        table: dict[tuple[str, str, str, Decimal, Money], tuple[_Group, SurchargeQuote, list[dt.date]]],
        group: _Group,
        reason: str,
        surcharge: SurchargeQuote,
        days: Sequence[dt.date],
    ) -> None:
        key = (group.child.id, group.prestation_id, reason, surcharge.unit_price, surcharge.total)
        entry = table.get(key)
        if entry is None:
            table[key] = (group, surcharge, list(days))
        else:
            entry[2].extend(days)

    def regularisation_lines(
        self, regularise: Mapping[_DayKey, tuple[_Status | None, str | None]]
    ) -> list[InvoiceLine]:
        """For each already-invoiced day: (what it is worth now − what was invoiced), when not zero."""
        invoiced = self.invoiced
        if invoiced is None or not regularise:
            return []
        lines: list[InvoiceLine] = []
        for key in sorted(regularise, key=lambda k: (self.ranks.get(k[0], 0), k)):
            status_now, late = regularise[key]
            child_id, prestation_id, _ = key
            now, basis = self.worth_now(key, status_now, late)
            before = invoiced.amount(key)
            if now == before:
                continue
            label = self.label(self.child(child_id), prestation_id)
            lines.append(_regularisation_line(invoiced, key, label, before, now, basis))
        return lines

    def worth_now(self, key: _DayKey, status: _Status | None, late: str | None) -> tuple[Money, str]:
        """What an already-invoiced day is worth now, and why in a few words.

        A component (the day's price, a surcharge) whose reason and unit price match a line already
        invoiced keeps that line's share of the day, so unchanged days never drift by a cent.
        """
        invoiced = self.invoiced
        assert invoiced is not None
        child_id, prestation_id, day = key
        if status is None:
            if prestation_id in self.ctx.forfaits:
                return ZERO, "forfait qui n'est plus dû : l'enfant n'est plus inscrit"
            return ZERO, "jour qui n'est plus réservé"
        group = self.group(child_id, prestation_id, _INDEX[status], late, day)
        if prestation_id in self.ctx.forfaits:
            forfait, amount, _ = self.forfait_due(group.kind, key)
            kept = invoiced.matching(key, forfait.code, amount.amount)
            return (amount if kept is None else kept), forfait.label[:1].lower() + forfait.label[1:]
        one_day = group.kind.one_day
        main = invoiced.matching(key, status.code, one_day.unit_price)
        worth = one_day.total if main is None else main
        basis = group.kind.words
        if late:
            found = _late_line(self.ctx, group, one_day)
            if found is not None:
                reason, surcharge = found
                kept = invoiced.matching(key, reason, surcharge.unit_price)
                worth += surcharge.total if kept is None else kept
                basis += _LATE_BASES[reason]
        if status is _UNBOOKED_STATUS:
            kept = invoiced.has_reason(key, _UNBOOKED)
            if kept is None:
                found = _unbooked_surcharge(
                    self.ctx, one_day, self.earlier_unbooked(child_id, prestation_id, day)
                )
                kept = ZERO if found is None else found[1].total
            worth += kept
        return worth, basis
