"""The map's layer interface: each domain plugs in its own layer by registering a provider.

A layer is one of:

* a **flag layer** (`flag_fn`): a yes/no fact per enterprise ("has an open insurance gap").
  `flag_fn(db, enterprise_ids)` gets the index's ids (int64 array) and returns either the set of
  ids that carry the flag or a bool array aligned with `enterprise_ids`. The flag is baked into
  the point index as a bit, so the layer is clustered server-side with exact counts under every
  filter, exactly like the base layer;
* a **points layer** (`points_fn(db, actor, bbox) -> list[dict]`): its own small point set
  (e.g. sites with an active alarm), already scoped by the provider;
* a **live layer** (`live_url`): the client subscribes to the domain's SSE endpoint; with a
  `points_fn` as well, the client first draws the current state from
  `/api/v1/map/points/<name>` and then applies the stream's events.

Any layer may add a part to the enterprise card with `card_fn(db, actor, enterprise) -> dict |
None` (return None, or raise `Forbidden`, when the caller's role may not see that part).

`requires` lists ``"module:attribute"`` names the layer needs; when one is missing (the domain
is not built yet) the layer is listed as unavailable with its reason and never called. A
provider that raises while building flags is logged and treated as unavailable for that build.

Register at import time of your own module::

    from qorgau.geo.layers import register_layer
    register_layer("open_violations", label=N_("Open violations"), roles=READ_ROLES,
                   flag_fn=open_violation_ids, card_fn=violations_card,
                   requires=("qorgau.inspections.service:open_violations_by_enterprise",))
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from qorgau.core.roles import Role
from qorgau.core.security import Actor

FlagFn = Callable[[Session, np.ndarray], "set[int] | np.ndarray"]
PointsFn = Callable[
    [Session, Actor, tuple[float, float, float, float] | None], list[dict[str, Any]]
]
CardFn = Callable[[Session, Actor, Any], "dict[str, Any] | None"]
BASE = "enterprises"
log = logging.getLogger("qorgau.geo")


@dataclass(frozen=True)
class Layer:
    name: str
    label: str  # English msgid, translated at render time
    roles: frozenset[Role]
    permission: str | None = None  # the owning domain's read permission, checked as well
    flag_fn: FlagFn | None = None
    points_fn: PointsFn | None = None
    card_fn: CardFn | None = None
    requires: tuple[str, ...] = ()
    live_url: str | None = None
    description: str = ""  # msgid shown under the toggle
    order: int = 100
    card_only: bool = False  # contributes a card part but nothing to draw
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.name == BASE:
            return "base"
        if self.flag_fn is not None:
            return "flag"
        if self.live_url is not None:  # may also have points_fn: the state when switched on
            return "live"
        if self.points_fn is not None:
            return "points"
        return "card"

    def missing(self) -> list[str]:
        """The required names that cannot be resolved now (empty = available)."""
        return [spec for spec in self.requires if resolve(spec) is None]

    @property
    def available(self) -> bool:
        return not self.missing()

    def visible_to(self, actor: Actor) -> bool:
        if actor.role not in self.roles:
            return False
        # The owning domain declares its permission when its module is imported.
        return self.permission is None or not self.available or actor.can(self.permission)


LAYERS: dict[str, Layer] = {}


def register_layer(
    name: str,
    *,
    label: str,
    roles: Iterable[Role],
    permission: str | None = None,
    flag_fn: FlagFn | None = None,
    points_fn: PointsFn | None = None,
    card_fn: CardFn | None = None,
    requires: Iterable[str] = (),
    live_url: str | None = None,
    description: str = "",
    order: int = 100,
    card_only: bool = False,
) -> Layer:
    """Declare a layer (idempotent by name: re-registering replaces the provider)."""
    if not name.replace("_", "").isalnum() or not name.islower():
        raise ValueError(f"layer name must be snake_case: {name!r}")
    layer = Layer(
        name=name,
        label=label,
        roles=frozenset(roles),
        permission=permission,
        flag_fn=flag_fn,
        points_fn=points_fn,
        card_fn=card_fn,
        requires=tuple(requires),
        live_url=live_url,
        description=description,
        order=order,
        card_only=card_only,
    )
    LAYERS[name] = layer
    return layer


def resolve(spec: str) -> Any | None:
    """``"pkg.module:attr"`` -> the object, or None when the module or attribute is missing."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a domain being built may not import yet: the layer waits
        log.debug("layer requirement %s unavailable: %s", spec, exc)
        return None
    return getattr(module, attr, None) if attr else module


def layers_for(actor: Actor) -> list[Layer]:
    return sorted(
        (layer for layer in LAYERS.values() if layer.visible_to(actor)), key=lambda la: la.order
    )


def flag_layers() -> list[Layer]:
    """Flag layers in a stable order (their bit positions in the index)."""
    return sorted((la for la in LAYERS.values() if la.flag_fn is not None), key=lambda la: la.name)


def as_mask(result: set[int] | np.ndarray | Iterable[int], ids: np.ndarray) -> np.ndarray:
    """A provider's answer as a bool array aligned with `ids`."""
    if isinstance(result, np.ndarray) and result.dtype == np.bool_:
        if len(result) != len(ids):
            raise ValueError("flag array length differs from the ids")
        return result
    wanted = np.fromiter((int(i) for i in result), dtype=np.int64)
    return np.isin(ids, wanted)
