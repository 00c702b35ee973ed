"""Request shapes of the gateway's HTTP endpoint (API.md §5.5)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from meta.serializers import IdField
from send.serializers import FrameField


class ForwardInput(serializers.Serializer):
    """`{"target_ids", "frame"}`, or the original flat form with the frame's fields beside
    `target_ids`."""

    target_ids = serializers.ListField(child=IdField(), allow_empty=False, max_length=10000)
    frame = FrameField(required=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict) and "frame" not in data and "type" in data:
            frame = {k: v for k, v in data.items() if k != "target_ids"}
            data = {"target_ids": data.get("target_ids"), "frame": frame}
        values = super().to_internal_value(data)
        if "frame" not in values:
            raise serializers.ValidationError({"frame": ["is required"]})
        frame = dict(values["frame"])
        frame.setdefault("id", -1)
        frame.setdefault("room_id", 0)
        frame.setdefault("sender_id", 0)
        frame.setdefault("payload", None)
        values["frame"] = frame
        return values
