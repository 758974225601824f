"""Billing: tariffs, attendance pricing, invoices, numbering, payments and credits (to come)."""
