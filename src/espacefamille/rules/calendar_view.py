"""The family calendar view: every date × prestation of a period for one child, with its state.

Brochure: « le calendrier affiche les présences et les absences ». For one child, one service (or a
list of prestations) and a period (an ISO week, a month, any ``DateRange``), ``family_calendar``
returns one ``CalendarCell`` per date and prestation — closed and why, not enrolled, bookable until
an instant, too late, booked and cancellable until an instant, held while the family pays, on the
waiting list at position N, present, absent, invoiced — each with a stable state code
(``view.bookable``), the instants behind it, a short French label and a full French sentence, ready
for a web or desktop frontend to render. Days are grouped into rows, rows into ISO weeks labelled as
the portal does (« Semaine 47 du lundi 16 novembre 2026 au dimanche 22 novembre 2026 »).

Which state a cell shows, first match wins:

1. an attendance fact recorded for the day (present, absent justified or not, present without
   booking, cancelled in time, service closed);
2. the prestation is closed that day (public holiday, school holidays, a closure…);
3. a booking (or the prestation's place ledger) for the child: held, on the waiting list, booked —
   cancellable until its deadline, cancellable late with a fee, or no longer cancellable;
4. no enrolment in the service covering the day (or one awaiting validation);
5. a past day: invoiced, or simply not booked;
6. otherwise the booking judgement of ``espacefamille.rules.policies.judge_booking``: bookable until
   the deadline, bookable late (surcharge, exceptional tariff, waiting list), full (a booking would
   go on the waiting list), not yet open (horizon, registration window), or too late.

An invoice number, when given, is carried by every cell of its date and prestation and named in the
sentence. Pure: ``now`` is passed in; nothing is read or written.

Deadlines are the same instants ``judge_booking`` and ``judge_cancellation`` give; the common case
(in time, no window, inside the horizon) is computed without building their bilingual messages, so
that a month view stays well under 5 ms (``docs/calendar_view.md``). Everything unusual (late,
too early, registration windows) goes through the judgement functions themselves.

Why one module of some 870 lines: the month and week views share the per-cell state machine and its fast
path; keeping them together keeps the fast path and the judgement functions in step.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Iterable, Mapping, Sequence

import attrs

from espacefamille.calendar.opening import ClosedBecause, Closure, Opening, OpeningCalendar, OpeningDay
from espacefamille.calendar.periods import DateRange, iso_week_label
from espacefamille.calendar.timezones import require_aware, utc_instant
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.model import Booking, BookingStatus, Child, Enrolment, Prestation, Service
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.capacity import PlaceLedger, PlaceStatus
from espacefamille.rules.deadlines import Deadline, DeadlineContext
from espacefamille.rules.policies import (
    _EXPIRED,
    _STARTED,
    AfterDeadlinePolicy,
    BookingRules,
    DeadlineOutcome,
    ExceptionalTariff,
    Refuse,
    Request,
    Surcharge,
    judge_booking,
)
from espacefamille.text import format_date, format_time

__all__ = [
    "CalendarCell",
    "CalendarDay",
    "CalendarView",
    "CalendarWeek",
    "CellState",
    "family_calendar",
]


class CellState(enum.Enum):
    """What a family sees in one cell of its calendar; ``code`` is the stable ``view.*`` code."""

    CLOSED = "closed"
    NOT_ENROLLED = "not_enrolled"
    ENROLMENT_PENDING = "enrolment_pending"
    NOT_YET_OPEN = "not_yet_open"
    NOT_OPEN = "not_open"
    BOOKABLE = "bookable"
    BOOKABLE_LATE = "bookable_late"
    BOOKABLE_WAITING_LIST = "bookable_waiting_list"
    TOO_LATE = "too_late"
    NOT_BOOKED = "not_booked"
    BOOKED = "booked"
    BOOKED_CANCELLABLE_LATE = "booked_cancellable_late"
    BOOKED_NOT_CANCELLABLE = "booked_not_cancellable"
    HELD = "held"
    WAITING_LIST = "waiting_list"
    PRESENT = "present"
    ABSENT_JUSTIFIED = "absent_justified"
    ABSENT_UNJUSTIFIED = "absent_unjustified"
    PRESENT_UNBOOKED = "present_unbooked"
    CANCELLED_IN_TIME = "cancelled_in_time"
    SERVICE_CLOSED = "service_closed"
    INVOICED = "invoiced"

    @property
    def code(self) -> str:
        """``view.bookable``."""
        return f"view.{self.value}"

    @property
    def label(self) -> str:
        """The short French label a calendar cell shows: ``Réservable``."""
        return _LABELS[self]

    @property
    def is_bookable(self) -> bool:
        """A booking request for this cell would be accepted (perhaps late, or on a waiting list)."""
        return self in _BOOKABLE

    @property
    def is_booked(self) -> bool:
        """The child has a place (booked, or held while the family pays)."""
        return self in _BOOKED

    @property
    def is_attendance(self) -> bool:
        """The state comes from an attendance fact."""
        return self in _FROM_ATTENDANCE


_LABELS = {
    CellState.CLOSED: "Fermé",
    CellState.NOT_ENROLLED: "Non inscrit",
    CellState.ENROLMENT_PENDING: "Inscription en attente",
    CellState.NOT_YET_OPEN: "Pas encore ouvert",
    CellState.NOT_OPEN: "Inscriptions fermées",
    CellState.BOOKABLE: "Réservable",
    CellState.BOOKABLE_LATE: "Réservable hors délai",
    CellState.BOOKABLE_WAITING_LIST: "Liste d'attente possible",
    CellState.TOO_LATE: "Délai dépassé",
    CellState.NOT_BOOKED: "Non réservé",
    CellState.BOOKED: "Réservé",
    CellState.BOOKED_CANCELLABLE_LATE: "Réservé",
    CellState.BOOKED_NOT_CANCELLABLE: "Réservé",
    CellState.HELD: "En attente de paiement",
    CellState.WAITING_LIST: "Liste d'attente",
    CellState.PRESENT: "Présent",
    CellState.ABSENT_JUSTIFIED: "Absence justifiée",
    CellState.ABSENT_UNJUSTIFIED: "Absence non justifiée",
    CellState.PRESENT_UNBOOKED: "Présent sans réservation",
    CellState.CANCELLED_IN_TIME: "Annulé dans les délais",
    CellState.SERVICE_CLOSED: "Service fermé",
    CellState.INVOICED: "Facturé",
}
_BOOKABLE = frozenset({CellState.BOOKABLE, CellState.BOOKABLE_LATE, CellState.BOOKABLE_WAITING_LIST})
_BOOKED = frozenset(
    {
        CellState.BOOKED,
        CellState.BOOKED_CANCELLABLE_LATE,
        CellState.BOOKED_NOT_CANCELLABLE,
        CellState.HELD,
    }
)
_FACT_STATES = {
    AttendanceStatus.PRESENT: CellState.PRESENT,
    AttendanceStatus.ABSENT_JUSTIFIED: CellState.ABSENT_JUSTIFIED,
    AttendanceStatus.ABSENT_UNJUSTIFIED: CellState.ABSENT_UNJUSTIFIED,
    AttendanceStatus.PRESENT_UNBOOKED: CellState.PRESENT_UNBOOKED,
    AttendanceStatus.CANCELLED_IN_TIME: CellState.CANCELLED_IN_TIME,
    AttendanceStatus.SERVICE_CLOSED: CellState.SERVICE_CLOSED,
}
_FROM_ATTENDANCE = frozenset(_FACT_STATES.values())


# -- the view ---------------------------------------------------------------------------------


@attrs.frozen
class CalendarCell:
    """One date × prestation of the family calendar.

    ``reason_code`` is the code of the rule behind the state (``calendar.closed.public_holiday``,
    ``deadline.in_time``, ``deadline.late_booking_surcharge``, ``capacity.waiting_list``,
    ``attendance.present``…). ``booking_deadline`` is set on cells a family could book (or could
    have booked), ``cancellation_deadline`` on booked cells of today and later, ``opens`` when
    booking has not opened yet. ``waiting_position`` is 1 for the next child to get a place (None
    when the ledger was not given). ``booking``, ``attendance`` and ``invoice`` are the inputs the
    cell was built from.
    """

    day: dt.date
    prestation_id: str
    state: CellState
    sentence: str
    opening: OpeningDay
    reason_code: str | None = None
    booking_deadline: dt.datetime | None = None
    cancellation_deadline: dt.datetime | None = None
    opens: dt.datetime | None = None
    waiting_position: int | None = None
    booking: Booking | None = None
    attendance: AttendanceFact | None = None
    invoice: str | None = None

    @property
    def code(self) -> str:
        """The stable state code: ``view.bookable``."""
        return self.state.code

    @property
    def label(self) -> str:
        """The short French label: ``Réservable``."""
        return self.state.label

    @property
    def is_bookable(self) -> bool:
        return self.state.is_bookable

    @property
    def is_booked(self) -> bool:
        return self.state.is_booked

    @property
    def is_closed(self) -> bool:
        """Closed by the opening calendar (the state may still show an attendance fact)."""
        return not self.opening.is_open


def _cells(items: Iterable[CalendarCell]) -> tuple[CalendarCell, ...]:
    return tuple(items)


def _days(items: Iterable[CalendarDay]) -> tuple[CalendarDay, ...]:
    return tuple(items)


def _weeks(items: Iterable[CalendarWeek]) -> tuple[CalendarWeek, ...]:
    return tuple(items)


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


@attrs.frozen
class CalendarDay:
    """A row of the calendar: one date and its cells, in the view's prestation order."""

    day: dt.date
    cells: tuple[CalendarCell, ...] = attrs.field(converter=_cells)

    @property
    def label(self) -> str:
        """``lundi 16 novembre 2026``."""
        return format_date(self.day)


@attrs.frozen
class CalendarWeek:
    """The days of one ISO week inside the period, with the portal's label.

    The label always names the whole week (Monday to Sunday), as the portal does, even when the
    period starts or ends inside it.
    """

    year: int
    week: int
    label: str
    days: tuple[CalendarDay, ...] = attrs.field(converter=_days)


@attrs.frozen
class CalendarView:
    """A child's calendar over ``period`` for ``prestation_ids``, as seen at instant ``now``."""

    child_id: str
    period: DateRange
    prestation_ids: tuple[str, ...] = attrs.field(converter=_strings)
    now: dt.datetime
    weeks: tuple[CalendarWeek, ...] = attrs.field(converter=_weeks)

    @property
    def days(self) -> tuple[CalendarDay, ...]:
        return tuple(day for week in self.weeks for day in week.days)

    @property
    def cells(self) -> tuple[CalendarCell, ...]:
        return tuple(cell for week in self.weeks for day in week.days for cell in day.cells)

    def cell(self, prestation_id: str, day: dt.date) -> CalendarCell:
        """The cell of ``prestation_id`` on ``day``; ``InvalidInput`` when the view does not show it."""
        if day in self.period and prestation_id in self.prestation_ids:
            index = (day - self.period.start).days
            return self.days[index].cells[self.prestation_ids.index(prestation_id)]
        raise InvalidInput(
            f"the view has no cell for {prestation_id!r} on {day}",
            message_fr="Cette date ou cette prestation n'est pas dans le calendrier affiché.",
            code="view.no_such_cell",
        )


# -- wording ----------------------------------------------------------------------------------


def _instant_fr(moment: dt.datetime) -> str:
    """As ``espacefamille.text.format_datetime`` writes it: ``jeudi 12 novembre 2026 à 11 h 00``."""
    return f"{format_date(moment.date())} à {format_time(moment)}"


@functools.lru_cache(maxsize=1024)
def _closed_fr(reason: ClosedBecause | None, detail: str, weekday: int) -> str:
    # Only the reason, its detail and the weekday make the sentence: a few dozen distinct ones a year.
    return OpeningDay(dt.date(2024, 1, 1 + weekday), False, reason, detail).explain("fr")


def _with_invoice(sentence: str, invoice: str | None) -> str:
    return sentence if invoice is None else f"{sentence} Facturé (facture {invoice})."


# -- what the view needs per prestation, computed once ----------------------------------------


@attrs.frozen
class _Plan:
    prestation: Prestation
    service: Service
    context: DeadlineContext
    rules: BookingRules | None
    opening_days: Mapping[dt.date, OpeningDay]
    ledger: PlaceLedger | None
    validated: tuple[DateRange, ...]
    pending: tuple[DateRange, ...]
    # Deadline instants already computed in this view, per (deadline, date): booking and
    # cancellation often share one rule, and week-wide rules share one instant.
    instants: dict[tuple[Deadline, dt.date], dt.datetime] = attrs.field(factory=dict, eq=False)

    def deadline(self, deadline: Deadline, day: dt.date) -> dt.datetime:
        key = (deadline, day)
        found = self.instants.get(key)
        if found is None:
            found = self.context.calendar.local(deadline.instant(day, self.context))
            self.instants[key] = found
        return found


def _check_ids(values: object, what: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidInput(f"{what} must be a sequence of ids, got {values!r}", code="input.invalid")
    return tuple(str(value) for value in values)


def _prestations_of(
    commune: Commune, service_id: str | None, prestation_ids: Sequence[str] | None
) -> tuple[Prestation, ...]:
    if (service_id is None) == (prestation_ids is None):
        raise InvalidInput(
            "give either a service id or a list of prestation ids",
            message_fr="Indiquez soit un service, soit une liste de prestations.",
            code="view.what_to_show",
        )
    if service_id is not None:
        return commune.service(service_id).prestations
    ids = _check_ids(prestation_ids, "prestation_ids")
    if not ids or len(set(ids)) != len(ids):
        raise InvalidInput(
            f"the prestation ids must be distinct and at least one, got {list(ids)}",
            code="view.prestation_ids",
        )
    return tuple(commune.prestation(pid) for pid in ids)


def _enrolment_periods(
    enrolments: Iterable[Enrolment], child_id: str
) -> dict[str, tuple[list[DateRange], list[DateRange]]]:
    """Per service id: the validated periods, and those awaiting an agent's validation."""
    periods: dict[str, tuple[list[DateRange], list[DateRange]]] = {}
    for enrolment in enrolments:
        if not isinstance(enrolment, Enrolment):
            raise InvalidInput(f"expected an Enrolment, got {enrolment!r}", code="input.invalid")
        if enrolment.child_id != child_id:
            continue
        validated, pending = periods.setdefault(enrolment.service_id, ([], []))
        (validated if enrolment.validated else pending).append(enrolment.period)
    return periods


_PRIORITY = {
    BookingStatus.BOOKED: 2,
    BookingStatus.HELD: 2,
    BookingStatus.WAITING: 1,
    BookingStatus.CANCELLED: 0,
}


def _current_bookings(
    bookings: Iterable[Booking], child_id: str, shown: frozenset[str]
) -> dict[tuple[str, dt.date], Booking]:
    """The booking that stands for each prestation and date: a live one over cancelled history.

    Two live bookings of one day are the duplicate families complain about: refused, not hidden.
    """
    current: dict[tuple[str, dt.date], Booking] = {}
    for booking in bookings:
        if not isinstance(booking, Booking):
            raise InvalidInput(f"expected a Booking, got {booking!r}", code="input.invalid")
        if booking.child_id != child_id or booking.prestation_id not in shown:
            continue
        key = (booking.prestation_id, booking.day)
        other = current.get(key)
        if other is None:
            current[key] = booking
            continue
        if _PRIORITY[booking.status] and _PRIORITY[other.status]:
            raise InvalidInput(
                f"{child_id!r} has two live bookings of {booking.prestation_id!r} on {booking.day}",
                message_fr=f"La même journée est réservée deux fois ({format_date(booking.day)}).",
                code="view.duplicate_booking",
            )
        if (_PRIORITY[booking.status], booking.booked_at) > (_PRIORITY[other.status], other.booked_at):
            current[key] = booking
    return current


def _facts_by_day(
    facts: Iterable[AttendanceFact], child_id: str, shown: frozenset[str]
) -> dict[tuple[str, dt.date], AttendanceFact]:
    result: dict[tuple[str, dt.date], AttendanceFact] = {}
    for fact in facts:
        if not isinstance(fact, AttendanceFact):
            raise InvalidInput(f"expected an AttendanceFact, got {fact!r}", code="input.invalid")
        if fact.child_id != child_id or fact.prestation_id not in shown:
            continue
        key = (fact.prestation_id, fact.day)
        if key in result and result[key] != fact:
            raise InvalidInput(
                f"two attendance facts for {child_id!r} at {fact.prestation_id!r} on {fact.day}",
                message_fr=f"Deux relevés de présence différents le {format_date(fact.day)}.",
                code="view.duplicate_attendance",
            )
        result[key] = fact
    return result


# -- one cell ---------------------------------------------------------------------------------


@attrs.frozen
class _Judgement:
    """A deadline judgement as the view needs it: ``refusal`` is the French sentence of a refusal."""

    outcome: DeadlineOutcome
    code: str
    deadline: dt.datetime
    refusal: str = ""
    opens: dt.datetime | None = None
    policy: AfterDeadlinePolicy | None = None


class _Builder:
    """Builds the cells of one view: the inputs indexed once, then one decision per cell."""

    def __init__(
        self,
        child: Child,
        now: dt.datetime,
        today: dt.date,
        bookings: Mapping[tuple[str, dt.date], Booking],
        facts: Mapping[tuple[str, dt.date], AttendanceFact],
        invoiced: Mapping[tuple[str, dt.date], str],
    ) -> None:
        self.child = child
        self.now = now
        self.today = today
        self.bookings = bookings
        self.facts = facts
        self.invoiced = invoiced

    def cell(self, plan: _Plan, day: dt.date) -> CalendarCell:
        pid = plan.prestation.id
        key = (pid, day)
        opening = plan.opening_days[day]
        invoice = self.invoiced.get(key)
        booking = self.bookings.get(key)
        fact = self.facts.get(key)
        if fact is not None:
            state = _FACT_STATES[fact.status]
            sentence = f"{state.label}." + (f" {fact.note}" if fact.note else "")
            return CalendarCell(
                day,
                pid,
                state,
                _with_invoice(sentence, invoice),
                opening,
                fact.code,
                booking=booking,
                attendance=fact,
                invoice=invoice,
            )
        if not opening.is_open:
            return CalendarCell(
                day,
                pid,
                CellState.CLOSED,
                _with_invoice(_closed_fr(opening.reason, opening.detail, day.weekday()), invoice),
                opening,
                opening.code,
                booking=booking,
                invoice=invoice,
            )
        placed = self._booked(plan, day, opening, booking, invoice)
        if placed is not None:
            return placed
        if not any(day in period for period in plan.validated):
            pending = any(day in period for period in plan.pending)
            state = CellState.ENROLMENT_PENDING if pending else CellState.NOT_ENROLLED
            name = plan.service.name
            sentence = (
                f"L'inscription à « {name} » attend la validation de la mairie."
                if pending
                else f"Pas d'inscription à « {name} » pour cette date."
            )
            return CalendarCell(
                day,
                pid,
                state,
                _with_invoice(sentence, invoice),
                opening,
                f"view.{state.value}",
                booking=booking,
                invoice=invoice,
            )
        if day < self.today:
            if invoice is not None:
                return CalendarCell(
                    day,
                    pid,
                    CellState.INVOICED,
                    f"Facturé (facture {invoice}).",
                    opening,
                    "view.invoiced",
                    booking=booking,
                    invoice=invoice,
                )
            return CalendarCell(
                day,
                pid,
                CellState.NOT_BOOKED,
                "Pas de réservation.",
                opening,
                "view.not_booked",
                booking=booking,
            )
        return self._bookable(plan, day, opening, booking, invoice)

    def _booked(
        self, plan: _Plan, day: dt.date, opening: OpeningDay, booking: Booking | None, invoice: str | None
    ) -> CalendarCell | None:
        """The cell of a child with a place or a waiting position that day, else None."""
        pid = plan.prestation.id
        status = booking.status if booking is not None else None
        position = None
        if plan.ledger is not None:
            place = plan.ledger.status(self.child.id, day)
            if place is not None:
                # The ledger is the authority on places: a promotion may not be on the booking yet.
                if place.status is PlaceStatus.WAITING_LIST:
                    status, position = BookingStatus.WAITING, place.position
                elif status is not BookingStatus.HELD:
                    status = BookingStatus.BOOKED
        if status is None or status is BookingStatus.CANCELLED:
            return None
        if status is BookingStatus.WAITING:
            sentence = (
                "Sur liste d'attente." if position is None else f"Sur liste d'attente (position {position})."
            )
            return CalendarCell(
                day,
                pid,
                CellState.WAITING_LIST,
                _with_invoice(sentence, invoice),
                opening,
                "capacity.waiting_list",
                waiting_position=position,
                booking=booking,
                invoice=invoice,
            )
        if status is BookingStatus.HELD:
            sentence = "Réservation retenue en attente du paiement en ligne."
            return CalendarCell(
                day,
                pid,
                CellState.HELD,
                _with_invoice(sentence, invoice),
                opening,
                "view.held",
                booking=booking,
                invoice=invoice,
            )
        if day < self.today:
            state, sentence, code, until = CellState.BOOKED_NOT_CANCELLABLE, "Réservé.", "view.booked", None
        else:
            state, sentence, code, until = self._cancellation(plan, day)
        return CalendarCell(
            day,
            pid,
            state,
            _with_invoice(sentence, invoice),
            opening,
            code,
            cancellation_deadline=until,
            booking=booking,
            invoice=invoice,
        )

    def _judge(self, plan: _Plan, day: dt.date, request: Request) -> _Judgement:
        """What ``judge_booking`` / ``judge_cancellation`` answer for ``day``, without their wording.

        Registration windows and a horizon not yet passed go through ``judge_booking`` itself; the
        deadline and after-deadline policy are judged here in the same order as ``policies._late``.
        """
        now = utc_instant(self.now)  # compared in UTC: fold counts on the autumn night
        rules = plan.rules
        if rules is None:
            # Without rules a prestation can be booked and cancelled until it starts.
            start = plan.context.start_of(day)
            if now <= start:
                return _Judgement(DeadlineOutcome.ACCEPTED, "deadline.in_time", start)
            return self._started(plan, request, day, start, None)
        if request is Request.BOOKING:
            # The horizon opens at midnight of a date: one strictly before today has surely opened.
            horizon_passed = (
                rules.horizon is None or day - dt.timedelta(weeks=rules.horizon.weeks) < self.today
            )
            if rules.windows or not horizon_passed:
                decision = judge_booking(rules, day, now, plan.context)
                refusal = decision.message_fr if decision.is_refused else ""
                return _Judgement(
                    decision.outcome,
                    decision.code,
                    decision.deadline,
                    refusal,
                    decision.opens,
                    decision.policy,
                )
            deadline, policy = rules.booking_deadline, rules.after_booking_deadline
        else:
            deadline, policy = rules.cancellation_deadline, rules.after_cancellation_deadline
        until = plan.deadline(deadline, day)
        if now <= until:
            return _Judgement(DeadlineOutcome.ACCEPTED, "deadline.in_time", until)
        kind = request.value
        if isinstance(policy, Refuse):
            refusal = _EXPIRED[request][0].format(when=_instant_fr(until))
            return _Judgement(
                DeadlineOutcome.REFUSED, f"deadline.{kind}_expired", until, refusal, policy=policy
            )
        start = plan.context.start_of(day)
        if now >= start:
            return self._started(plan, request, day, until, policy)
        if isinstance(policy, Surcharge):
            outcome, code = DeadlineOutcome.ACCEPTED_WITH_SURCHARGE, f"deadline.late_{kind}_surcharge"
        elif isinstance(policy, ExceptionalTariff):
            outcome, code = DeadlineOutcome.EXCEPTIONAL_TARIFF, f"deadline.late_{kind}_exceptional_tariff"
        else:
            outcome, code = DeadlineOutcome.WAITING_LIST, "deadline.late_booking_waiting_list"
        return _Judgement(outcome, code, until, policy=policy)

    def _started(
        self,
        plan: _Plan,
        request: Request,
        day: dt.date,
        until: dt.datetime,
        policy: AfterDeadlinePolicy | None,
    ) -> _Judgement:
        start = plan.context.start_of(day)
        refusal = _STARTED[request][0].format(name=plan.prestation.name, start=_instant_fr(start))
        return _Judgement(DeadlineOutcome.REFUSED, "deadline.started", until, refusal, policy=policy)

    def _cancellation(self, plan: _Plan, day: dt.date) -> tuple[CellState, str, str, dt.datetime]:
        judged = self._judge(plan, day, Request.CANCELLATION)
        until = judged.deadline
        if judged.outcome is DeadlineOutcome.ACCEPTED:
            return CellState.BOOKED, f"Réservé ; annulable jusqu'au {_instant_fr(until)}.", judged.code, until
        if judged.outcome is DeadlineOutcome.REFUSED:
            return CellState.BOOKED_NOT_CANCELLABLE, f"Réservé. {judged.refusal}", judged.code, until
        when = _instant_fr(until)
        policy = judged.policy
        if isinstance(policy, Surcharge):
            fee = f"avec des frais de {policy.describe('fr')}"
        else:
            assert isinstance(policy, ExceptionalTariff)
            fee = f"facturée {policy.unit_price.format('fr')}"
        sentence = f"Réservé ; annulation encore possible hors délai (délai expiré le {when}), {fee}."
        return CellState.BOOKED_CANCELLABLE_LATE, sentence, judged.code, until

    def _bookable(
        self, plan: _Plan, day: dt.date, opening: OpeningDay, booking: Booking | None, invoice: str | None
    ) -> CalendarCell:
        judged = self._judge(plan, day, Request.BOOKING)
        until = judged.deadline

        def cell(
            state: CellState,
            sentence: str,
            reason: str = judged.code,
            *,
            opens: dt.datetime | None = None,
            waiting_position: int | None = None,
        ) -> CalendarCell:
            return CalendarCell(
                day,
                plan.prestation.id,
                state,
                _with_invoice(sentence, invoice),
                opening,
                reason,
                booking_deadline=until,
                opens=opens,
                waiting_position=waiting_position,
                booking=booking,
                invoice=invoice,
            )

        outcome = judged.outcome
        if outcome is DeadlineOutcome.REFUSED:
            if judged.opens is not None:
                return cell(CellState.NOT_YET_OPEN, judged.refusal, opens=judged.opens)
            if judged.code == "deadline.no_window":
                return cell(CellState.NOT_OPEN, judged.refusal)
            return cell(CellState.TOO_LATE, judged.refusal)
        full = self._full(plan, day)
        if full is not None:
            sentence = f"Complet : une réservation serait inscrite sur liste d'attente (position {full})."
            return cell(
                CellState.BOOKABLE_WAITING_LIST, sentence, "capacity.waiting_list", waiting_position=full
            )
        if outcome is DeadlineOutcome.ACCEPTED:
            return cell(CellState.BOOKABLE, f"Réservable jusqu'au {_instant_fr(until)}.")
        when = _instant_fr(until)
        if outcome is DeadlineOutcome.WAITING_LIST:
            sentence = f"Délai expiré le {when} : une réservation serait inscrite sur liste d'attente."
            return cell(CellState.BOOKABLE_WAITING_LIST, sentence)
        policy = judged.policy
        if isinstance(policy, Surcharge):
            extra = f"avec une majoration de {policy.describe('fr')}"
        else:
            assert isinstance(policy, ExceptionalTariff)
            extra = f"au tarif exceptionnel de {policy.unit_price.format('fr')}"
        return cell(CellState.BOOKABLE_LATE, f"Réservable hors délai (délai expiré le {when}), {extra}.")

    def _full(self, plan: _Plan, day: dt.date) -> int | None:
        """The waiting position a booking would get when no place is free, else None."""
        ledger = plan.ledger
        if ledger is None:
            return None
        capacity = ledger.capacity
        group = capacity.group_for(self.child, day) if capacity.grouped else None
        if capacity.grouped and group is None:
            return None  # no group admits the child: the basket refuses it with its own reason
        free = ledger.free(day, group)
        if free is None or free > 0:
            return None
        return len(ledger.waiting_list(day, group)) + 1


# -- the view ---------------------------------------------------------------------------------


def family_calendar(
    commune: Commune,
    child: Child,
    period: DateRange,
    *,
    now: dt.datetime,
    enrolments: Iterable[Enrolment],
    bookings: Iterable[Booking] = (),
    service_id: str | None = None,
    prestation_ids: Sequence[str] | None = None,
    ledgers: Mapping[str, PlaceLedger] | None = None,
    attendance: Iterable[AttendanceFact] = (),
    invoiced: Mapping[tuple[str, dt.date], str] | None = None,
    closures: Mapping[str, Iterable[Closure]] | None = None,
    resident: bool = True,
) -> CalendarView:
    """The calendar of ``child`` over ``period`` for one service or a list of prestations, at ``now``.

    Give exactly one of ``service_id`` (all its prestations, in configuration order) and
    ``prestation_ids`` (in that order, possibly across services). Bookings, enrolments and
    attendance facts of other children, or of prestations not shown, are ignored, so a family's
    whole list can be passed. ``ledgers`` maps a prestation id to its place ledger (waiting
    positions, full days); ``invoiced`` maps (prestation id, date) to an invoice number;
    ``closures`` maps a service id to closures declared since the configuration (a strike);
    ``resident`` is whether the family lives in the commune (earlier registration windows).

    Raises ``InvalidInput`` for a naive ``now``, a period that is not a ``DateRange``, neither or
    both of ``service_id`` and ``prestation_ids``, or two live bookings (or two different facts)
    of one date; ``NotFound`` for an unknown service or prestation; ``MissingData`` when the
    school calendar of a date is unknown.
    """
    now = require_aware(now)
    if not isinstance(period, DateRange):
        raise InvalidInput(f"period must be a DateRange, got {period!r}", code="input.invalid")
    if not isinstance(child, Child):
        raise InvalidInput(f"expected a Child, got {child!r}", code="input.invalid")
    prestations = _prestations_of(commune, service_id, prestation_ids)
    shown = frozenset(p.id for p in prestations)
    ledgers = ledgers or {}
    extra = closures or {}
    enrolled = _enrolment_periods(enrolments, child.id)
    days = list(period)

    # Prestations of one service usually share their opening: each distinct one is asked once a day.
    opening_cache: dict[tuple[Opening, str], Mapping[dt.date, OpeningDay]] = {}
    plans: list[_Plan] = []
    for prestation in prestations:
        service = commune.service(prestation.service_id)
        service_closures = tuple(extra.get(service.id, ()))
        context = commune.deadline_context(prestation.id, resident=resident, closures=service_closures)
        opening_key = (prestation.opening, service.id)
        opening_days = opening_cache.get(opening_key)
        if opening_days is None:
            calendar: OpeningCalendar = context.opening
            opening_days = {day: calendar.day(day) for day in days}
            opening_cache[opening_key] = opening_days
        validated, pending = enrolled.get(service.id, ([], []))
        ledger = ledgers.get(prestation.id)
        if ledger is not None and not isinstance(ledger, PlaceLedger):
            raise InvalidInput(f"expected a PlaceLedger, got {ledger!r}", code="input.invalid")
        plans.append(
            _Plan(
                prestation,
                service,
                context,
                commune.booking_rules.get(prestation.id),
                opening_days,
                ledger,
                tuple(validated),
                tuple(pending),
            )
        )

    builder = _Builder(
        child,
        now,
        commune.calendar.today(now),
        _current_bookings(bookings, child.id, shown),
        _facts_by_day(attendance, child.id, shown),
        invoiced or {},
    )
    weeks: list[CalendarWeek] = []
    rows: list[CalendarDay] = []
    for day in days:
        if rows and day.weekday() == 0:
            weeks.append(_week(rows))
            rows = []
        rows.append(CalendarDay(day, [builder.cell(plan, day) for plan in plans]))
    weeks.append(_week(rows))
    return CalendarView(child.id, period, [p.id for p in prestations], now, weeks)


@functools.lru_cache(maxsize=512)
def _week_label(monday: dt.date) -> str:
    return iso_week_label(monday)


def _week(rows: list[CalendarDay]) -> CalendarWeek:
    first = rows[0].day
    year, week, _ = first.isocalendar()
    return CalendarWeek(year, week, _week_label(first - dt.timedelta(days=first.weekday())), rows)
