"""The rollout journal: what each step did, written atomically after every step."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Journal:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Journal:
        if not path.exists():
            return cls(path, {})
        return cls(path, json.loads(path.read_text(encoding="utf-8")))

    def applied_digests(self) -> dict[str, dict[str, str]]:
        """Region -> {urn: digest} of each region's last successful apply."""
        regions = self.data.get("regions", {})
        return {
            name: dict(entry.get("applied_resources", {}))
            for name, entry in regions.items()
            if entry.get("applied_resources")
        }
