"""The one layer registry: every layer the app serves and exports, the gazetteer's then the
boundaries'. The map, the OGC API, the vector tiles and ``gdgis export``/``gdgis layers`` all
read layers through it (webmap is the only package that sees both domains)."""

from __future__ import annotations

from boundaries.layers import BOUNDARY_LAYERS
from gazetteer.core.errors import NotFound
from gazetteer.features import FeatureProvider
from gazetteer.layers import GAZETTEER_LAYERS

LAYERS: tuple[FeatureProvider, ...] = (*GAZETTEER_LAYERS, *BOUNDARY_LAYERS)
_BY_ID = {layer.id: layer for layer in LAYERS}


def layer(layer_id: str) -> FeatureProvider:
    """The layer called ``layer_id``; raises NotFound."""
    try:
        return _BY_ID[layer_id]
    except KeyError:
        raise NotFound(f"没有名为 {layer_id!r} 的图层", details={"layers": list(_BY_ID)}) from None
