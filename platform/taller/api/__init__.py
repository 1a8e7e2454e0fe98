"""The REST API under /api/v1/: thin views over the apps' services and selectors.

Who may do what is decided in taller.accounts.roles; permissions.py only adapts it to
DRF, so the pages, the API and the WebSocket consumer agree.
"""
