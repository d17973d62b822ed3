"""Trim and convert source models to target formats: the source table, the format table, the converters."""
