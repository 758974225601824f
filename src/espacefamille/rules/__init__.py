"""Booking rules: deadlines, baskets, capacity, absences — decisions with reasons (to come)."""
