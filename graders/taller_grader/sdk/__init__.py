"""The grader SDK: a pytest plugin, fixtures and an HTTP client for grader suites."""
