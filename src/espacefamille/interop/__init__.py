"""What goes in and out of the library as files, for people and scripts.

* ``interop.imports`` — CSV imports of families, children and enrolments from a commune's former system,
  checked row by row, all or nothing.
* ``interop.tables`` — invoice tables as CSV rows and JSON-safe dicts (nothing beyond the core).
* ``interop.invoice_html`` — the HTML invoice (Jinja2) and ``interop.ical`` — the bookings calendar as an
  iCalendar file (icalendar); both need the ``cli`` extra: ``pip install 'espacefamille[cli]'``.
* ``interop.invoice_pdf`` — the same invoice as an A4 PDF (WeasyPrint); needs the ``pdf`` extra.
* ``interop.pain008`` — a SEPA direct-debit file (ISO 20022 pain.008.001.02) per régie and collection date,
  written with the standard library; its mandates need the ``sepa`` extra (schwifty).

Importing this package imports no optional library, so the core stays light; see
``docs/imports-exports.md``.
"""
