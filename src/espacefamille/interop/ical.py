"""A child's bookings as an iCalendar file (RFC 5545) parents add to their phone's calendar.

One ``VEVENT`` per booked day: the prestation's hours in the commune's time zone (with its ``VTIMEZONE``, so a
phone abroad or in another zone still shows 11 h 45 in Saint-Aubin), or an all-day event when the prestation
has no hours. The summary reads like the family calendar: ``Cantine — Repas (Léa)``.

Each event's ``UID`` is built from what makes a booking unique (child, prestation, date) and the collectivité,
so exporting again gives the same UIDs and a calendar application updates its events instead of doubling them.
``DTSTAMP`` is the instant the booking was made: the file depends only on its inputs, never on a clock.

Which bookings become events: booked days (``CONFIRMED``) and places held while the family pays
(``TENTATIVE``). Cancelled bookings are **left out** by default — a file imported once is a snapshot, and a
day the child does not attend should not show; with ``include_cancelled=True`` they are written with
``STATUS:CANCELLED`` and the same UID, for a subscribed feed whose client then strikes the day out.
Waiting-list bookings are never written: the child has no place.

Needs the ``cli`` extra (``pip install 'espacefamille[cli]'``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

import icalendar

from espacefamille.calendar.timezones import local_instant, time_zone
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.model import Booking, BookingStatus, Child, Prestation, Service, ServiceKind
from espacefamille.text import format_time

__all__ = ["PRODID", "bookings_ical", "event_summary", "event_uid"]

PRODID: Final = "-//espacefamille//Réservations//FR"

_SERVICE_WORDS: Final = {
    ServiceKind.CANTINE: "Cantine",
    ServiceKind.PERISCOLAIRE: "Périscolaire",
    ServiceKind.MERCREDI: "Mercredi",
    ServiceKind.ALSH: "Centre de loisirs",
    ServiceKind.ETUDE: "Étude",
}

_STATUS: Final = {
    BookingStatus.BOOKED: "CONFIRMED",
    BookingStatus.HELD: "TENTATIVE",
    BookingStatus.CANCELLED: "CANCELLED",
}


def event_uid(commune: Commune, booking: Booking) -> str:
    """``C1-repas-20261112@saint-aubin.espacefamille``: stable across exports of the same booking."""
    child_id, prestation_id, day = booking.key
    return f"{child_id}-{prestation_id}-{day:%Y%m%d}@{commune.collectivite.id}.espacefamille"


def _service_word(service: Service) -> str:
    return _SERVICE_WORDS.get(service.kind, service.name)


def event_summary(commune: Commune, child: Child, prestation: Prestation) -> str:
    """``Cantine — Repas (Léa)``: the service, the prestation, the child's first name."""
    service = commune.service(prestation.service_id)
    return f"{_service_word(service)} — {prestation.name} ({child.first_name})"


def _description(commune: Commune, prestation: Prestation, booking: Booking) -> str:
    service = commune.service(prestation.service_id)
    text = f"{service.name}, {commune.collectivite.name}."
    if prestation.start is not None and prestation.end is not None:
        text += f" De {format_time(prestation.start)} à {format_time(prestation.end)}."
    if booking.status is BookingStatus.HELD:
        text += " Place retenue en attente du paiement en ligne."
    elif booking.status is BookingStatus.CANCELLED:
        text += " Réservation annulée."
    return text


def bookings_ical(
    commune: Commune, child: Child, bookings: Iterable[Booking], *, include_cancelled: bool = False
) -> bytes:
    """The iCalendar file (UTF-8 bytes) of ``child``'s bookings, events in date then hour order.

    Every booking must be ``child``'s (``InvalidInput`` otherwise); a prestation unknown to the commune raises
    ``NotFound``.
    """
    zone = time_zone(commune.collectivite.timezone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Réservations de {child.first_name}")
    calendar.add("x-wr-timezone", commune.collectivite.timezone)
    chosen: list[tuple[Booking, Prestation]] = []
    for booking in bookings:
        if booking.child_id != child.id:
            raise InvalidInput(
                f"booking of child {booking.child_id!r} in the calendar of {child.id!r}",
                message_fr="Une réservation d'un autre enfant ne peut pas figurer dans ce calendrier.",
                code="export.other_child",
            )
        if booking.status not in _STATUS or (
            booking.status is BookingStatus.CANCELLED and not include_cancelled
        ):
            continue
        chosen.append((booking, commune.prestation(booking.prestation_id)))
    chosen.sort(key=lambda pair: (pair[0].day, pair[1].start or dt.time.min, pair[1].id))
    for booking, prestation in chosen:
        event = icalendar.Event()
        event.add("uid", event_uid(commune, booking))
        event.add("dtstamp", booking.booked_at.astimezone(dt.UTC))
        if prestation.start is not None and prestation.end is not None:
            event.add("dtstart", local_instant(booking.day, prestation.start, zone))
            event.add("dtend", local_instant(booking.day, prestation.end, zone))
        else:
            event.add("dtstart", booking.day)
            event.add("dtend", booking.day + dt.timedelta(days=1))
        event.add("summary", event_summary(commune, child, prestation))
        event.add("description", _description(commune, prestation, booking))
        event.add("status", _STATUS[booking.status])
        event.add("transp", "TRANSPARENT")  # a child's canteen does not make the parent busy
        calendar.add_component(event)
    if chosen:
        calendar.add_missing_timezones(
            first_date=chosen[0][0].day - dt.timedelta(days=366),
            last_date=chosen[-1][0].day + dt.timedelta(days=366),
        )
    data: bytes = calendar.to_ical()
    return data
