"""The answer for one viewport: clusters and points, serialised as compact JSON rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

from qorgau.geo.filters import RISK_BANDS

_N_BANDS = len(RISK_BANDS)


@dataclass(frozen=True, slots=True)
class ClusterResult:
    """Clusters and points for one viewport; `total` = sum(counts) + len(point ids)."""

    zoom: int
    level: int  # quadtree level of the cells; `keys` are Morton codes of (x, y) at it
    cell_px: int
    total: int
    keys: np.ndarray  # uint64
    counts: np.ndarray  # int64
    lon: np.ndarray  # member centroid
    lat: np.ndarray
    mean_score: np.ndarray  # float64, mean risk score of members
    band_counts: np.ndarray  # (k, 4) int64: members per risk band low..very_high
    point_ids: np.ndarray  # int64
    point_lon: np.ndarray
    point_lat: np.ndarray
    point_band: np.ndarray  # uint8

    CLUSTER_FIELDS = ("key", "count", "lon", "lat", "score", *RISK_BANDS)
    POINT_FIELDS = ("id", "lon", "lat", "risk")

    @property
    def max_band(self) -> np.ndarray:
        """Highest risk band present in each cluster (0..3)."""
        present = self.band_counts > 0
        return (_N_BANDS - 1 - np.argmax(present[:, ::-1], axis=1)).astype(np.uint8)

    def to_json_bytes(self) -> bytes:
        """Compact rows (field names once in the header): ~45 B a cluster, ~35 B a point."""
        b = self.band_counts
        clusters = list(
            zip(
                self.keys.tolist(),
                self.counts.tolist(),
                np.round(self.lon, 5).tolist(),
                np.round(self.lat, 5).tolist(),
                np.round(self.mean_score, 2).tolist(),
                b[:, 0].tolist(),
                b[:, 1].tolist(),
                b[:, 2].tolist(),
                b[:, 3].tolist(),
                strict=True,
            )
        )
        points = list(
            zip(
                self.point_ids.tolist(),
                np.round(self.point_lon, 5).tolist(),
                np.round(self.point_lat, 5).tolist(),
                self.point_band.tolist(),
                strict=True,
            )
        )
        return orjson.dumps(
            {
                "zoom": self.zoom,
                "level": self.level,
                "cell_px": self.cell_px,
                "total": self.total,
                "cluster_fields": self.CLUSTER_FIELDS,
                "clusters": clusters,
                "point_fields": self.POINT_FIELDS,
                "points": points,
            }
        )
