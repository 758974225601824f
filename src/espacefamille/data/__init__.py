"""Reference data shipped with the library: the school holidays of each zone (``school_holidays.toml``)."""
