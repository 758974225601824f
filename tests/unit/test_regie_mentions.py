"""A régie's mentions on its invoices: set in the commune's TOML file, printed on the HTML and PDF invoice."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from html.parser import HTMLParser

import pypdf
import pytest

from espacefamille.billing.documents import Invoice
from espacefamille.billing.invoicing import run_month_end
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import dumps_commune, loads_commune
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.examples import example_path
from espacefamille.interop.invoice_html import render_invoice_html
from espacefamille.interop.invoice_pdf import render_invoice_pdf
from espacefamille.model import (
    Booking,
    BookingStatus,
    Child,
    CounterPayment,
    Family,
    Guardian,
    InvoiceMentions,
    QuotientFamilial,
)
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus

MENTIONS = """
[regies.enfance.mentions]
address = ["Mairie de Saint-Aubin-des-Prés", "1 place de la Mairie", "35140 Saint-Aubin-des-Prés"]
opening_hours = "du lundi au vendredi de 8 h 30 à 12 h"
phone = "02 99 00 00 00"
cheque_payable_to = "Trésor public"
counter_payments = ["especes", "cheque", "carte", "cesu", "cheques_vacances"]
after_due_date = "Passé cette date, le Trésor public vous adressera un avis des sommes à payer."
zero_lines = true
"""

MARTIN = Family(
    "F1", "Martin", [Guardian("G1", "Claire", "Martin")], "G1",
    quotients=[QuotientFamilial(Decimal("800"), dt.date(2026, 9, 1))],
)  # fmt: skip
LEA = Child("C1", "Léa", "Martin", dt.date(2016, 3, 1), ["F1"])


def with_mentions(extra: str = MENTIONS) -> Commune:
    text = example_path().read_text(encoding="utf-8")
    head, tail = text.split("[regies.loisirs]", 1)
    return loads_commune(head + extra + "\n[regies.loisirs]" + tail)


def november(commune: Commune) -> Invoice:
    at = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
    days = [day for day in DateRange.month(2026, 11) if day.weekday() in (0, 1, 3, 4)]
    bookings = [Booking("C1", "repas", day, "F1", BookingStatus.BOOKED, at) for day in days]
    facts = [AttendanceFact("C1", "repas", dt.date(2026, 11, 12), AttendanceStatus.ABSENT_JUSTIFIED)]
    run = run_month_end(
        commune, "enfance", DateRange.month(2026, 11), dt.date(2026, 12, 1),
        families=[MARTIN], children=[LEA], bookings=bookings, attendance=facts,
    )  # fmt: skip
    return run.invoices[0]


def words(page: str) -> str:
    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = False

        def handle_starttag(self, tag: str, attrs: object) -> None:
            self.skip = tag == "style"

        def handle_endtag(self, tag: str) -> None:
            self.skip = False

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    reader = Text()
    reader.feed(page)
    return " ".join(" ".join(reader.parts).replace("\u202f", " ").replace("\u00a0", " ").split())


def test_a_regies_mentions_are_read_from_its_toml_table_and_written_back_the_same() -> None:
    commune = with_mentions()
    mentions = commune.regie("enfance").mentions
    assert mentions.address[1] == "1 place de la Mairie"
    assert mentions.counter_payments[2] is CounterPayment.CARD
    assert mentions.zero_lines
    assert commune.regie("loisirs").mentions == InvoiceMentions()
    again = loads_commune(dumps_commune(commune))
    assert again.regie("enfance").mentions == mentions
    assert again == commune
    assert "mentions" not in dumps_commune(loads_commune(example_path().read_text(encoding="utf-8")))


def test_an_unknown_means_of_payment_or_key_is_refused_by_its_path() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        with_mentions('[regies.enfance.mentions]\ncounter_payments = ["cheque", "bitcoin"]\n')
    assert caught.value.code == "config.choice"
    assert "regies.enfance.mentions.counter_payments[1]" in str(caught.value)
    with pytest.raises(InvalidConfiguration) as caught:
        with_mentions('[regies.enfance.mentions]\nhoraires = "9 h"\n')
    assert "horaires" in str(caught.value)


def test_a_mention_with_a_control_character_is_refused_by_the_model() -> None:
    with pytest.raises(InvalidInput):
        InvoiceMentions(phone="02\x0099")


def test_the_invoice_prints_the_regies_address_hours_phone_means_and_what_follows_the_due_date() -> None:
    commune = with_mentions()
    invoice = november(commune)
    text = words(render_invoice_html(invoice, commune, MARTIN))
    for fact in (
        "Régie enfance-jeunesse Mairie de Saint-Aubin-des-Prés, 1 place de la Mairie, 35140 Saint-Aubin",
        "Tél. 02 99 00 00 00",
        "du lundi au vendredi de 8 h 30 à 12 h",
        "en espèces, par chèque à l'ordre du Trésor public, par carte bancaire, en CESU ou en chèques "
        "vacances",
        "Passé cette date, le Trésor public vous adressera un avis des sommes à payer.",
        "1 × 0,00 €",  # the commune asked for its zero lines
    ):
        assert fact in text, fact
    reader = pypdf.PdfReader(io.BytesIO(render_invoice_pdf(invoice, commune, MARTIN)))
    assert len(reader.pages) == 1
    assert "Trésor public" in reader.pages[0].extract_text()


def test_without_mentions_the_invoice_says_what_it_said_before() -> None:
    commune = loads_commune(example_path().read_text(encoding="utf-8"))
    text = words(render_invoice_html(november(commune), commune, MARTIN))
    assert "aux heures d'ouverture, en espèces ou par chèque" in text
    assert "Passé la date limite" in text
    assert "Sans frais" in text


def test_a_busy_month_with_every_mention_and_its_zero_lines_still_fits_one_page() -> None:
    from tests.unit.test_invoice_pdf import TOM, month_invoice  # noqa: PLC0415

    commune = with_mentions()
    invoice = month_invoice(commune, [LEA, TOM], ["repas", "matin", "soir"])
    reader = pypdf.PdfReader(io.BytesIO(render_invoice_pdf(invoice, commune, MARTIN)))
    assert len(reader.pages) == 1


def test_a_cheque_made_out_to_the_regie_and_a_regie_taking_nothing_at_its_counter() -> None:
    from espacefamille.interop.invoice_html import payment_means_fr  # noqa: PLC0415
    from espacefamille.model import Regie  # noqa: PLC0415
    from espacefamille.money import Money  # noqa: PLC0415

    commune = loads_commune(example_path().read_text(encoding="utf-8"))
    invoice = november(commune)
    own = Regie(
        "enfance", "Régie enfance-jeunesse",
        mentions=InvoiceMentions(cheque_payable_to="Régie enfance-jeunesse", counter_payments=["cheque"]),
    )  # fmt: skip
    (counter,) = payment_means_fr(invoice, own, Money("9.20"))
    assert "par chèque à l'ordre de « Régie enfance-jeunesse »" in counter
    nothing = Regie("enfance", "Régie enfance-jeunesse", mentions=InvoiceMentions(counter_payments=[]))
    (only,) = payment_means_fr(invoice, nothing, Money("9.20"))
    assert only.startswith("Adressez-vous à la régie (Régie enfance-jeunesse) avant le")
    again = loads_commune(
        dumps_commune(with_mentions('[regies.enfance.mentions]\ncounter_payments = ["virement"]\n'))
    )
    assert again.regie("enfance").mentions.counter_payments == (CounterPayment.TRANSFER,)
