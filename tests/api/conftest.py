from __future__ import annotations

from tests.api.world import api_as, world

__all__ = ["api_as", "world"]
