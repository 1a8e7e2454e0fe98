"""Taller's grading side: the results contract, the sandbox runner and the grader SDK.

Nothing in this package imports Django.
"""
