"""Billing: pure, exact to the cent, every line explained.

* ``billing.tariffs`` — price lists and their criteria (``@tariff_criterion``), attendance effects
  (``@attendance_effect``).
* ``billing.pricing`` — the one pricing path: what a day of a prestation costs a family, and why.
* ``billing.documents`` — invoices, credit notes, payments, allocations and their numbering.
* ``billing.invoicing`` — the month-end run (``bill_month``), corrections of days already billed, the
  recovery threshold; it hands out the names of its parts: ``billing.invoice_lines`` (a family's month
  priced into lines), ``billing.corrections`` (regularisation lines, carried balances) and
  ``billing.preflight`` (the pre-flight of a run: the days that could not be priced).
* ``billing.payments`` — payments received and their allocation, credit notes, refunds.
* ``billing.prepaid`` — paying at booking: the basket's amount, its hold, credit notes for what was not used.
* ``billing.online`` — online payments: the gateway port's values, attempts, checked notifications.

This ``__init__`` imports nothing, for the same reason as ``espacefamille.rules``.
"""
