"""Settings split by environment: base, local (embedded default), production, test."""
