"""Placing a shared location pin in a known area (pure, no I/O).

A WhatsApp, Twilio or Instagram location pin arrives as coordinates.  The care actions
work with areas (a city or emirate), so a pin is placed in the area whose centre is the
nearest, provided it lies within that area's radius.  The demo backend reads the
centres from its seed file; an operator's backend may implement ``area_at`` its own
way (it is optional: see :func:`actions.media.area_of_pin`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Tuple

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Centre:
    """The centre of an area and how far from it a pin still counts as inside."""

    area: str
    latitude: float
    longitude: float
    radius_km: float

    @classmethod
    def from_seed(cls, area: str, raw: Mapping[str, object]) -> "Centre":
        return cls(area=area, latitude=float(raw["latitude"]), longitude=float(raw["longitude"]),  # type: ignore[arg-type]
                   radius_km=float(raw["radius_km"]))  # type: ignore[arg-type]


def distance_km(a: Tuple[float, float], b: Tuple[float, float]) -> float:
    """Great-circle distance (haversine) between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest_area(latitude: float, longitude: float, centres: Iterable[Centre]) -> Optional[str]:
    """The area whose centre is nearest to the pin, if the pin is within its radius."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    best: Optional[Tuple[float, str]] = None
    for centre in centres:
        km = distance_km((latitude, longitude), (centre.latitude, centre.longitude))
        if km <= centre.radius_km and (best is None or km < best[0]):
            best = (km, centre.area)
    return best[1] if best else None
