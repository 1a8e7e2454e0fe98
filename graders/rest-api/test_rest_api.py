"""Grader suite for `rest-api` (shared/spec/exercises.md, section 3)."""
