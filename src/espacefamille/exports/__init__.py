"""Exports of the library's values for people and scripts: invoice tables, HTML invoices, iCalendar files.

``espacefamille.exports.tables`` (CSV rows and JSON-safe dicts) needs nothing beyond the core. The HTML
invoice (``exports.invoice_html``, Jinja2) and the bookings calendar (``exports.ical``, icalendar) need the
``cli`` extra: ``pip install 'espacefamille[cli]'``. Importing this package imports neither library, so the
core stays light; see ``docs/imports-exports.md``.
"""

from __future__ import annotations

__all__: list[str] = []
