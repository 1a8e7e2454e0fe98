"""Run untrusted Node.js programs isolated, with per-run services."""
