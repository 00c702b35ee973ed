"""`OPTIONS` on an API endpoint: the methods it allows, in the envelope (DRF would describe
the view instead)."""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import BaseMetadata
from rest_framework.request import Request


class EnvelopeMetadata(BaseMetadata):
    def determine_metadata(self, request: Request, view: Any) -> dict[str, Any]:  # an APIView (imported here: a cycle)
        # The reply also carries them in `Allow`.
        return {"code": 0, "msg": "ok", "data": {"methods": list(view.allowed_methods)}}
