"""What the library shares with itself and users must not import: attrs validators written once, the
trusted-construction switch, the scoped garbage-collector pause."""
