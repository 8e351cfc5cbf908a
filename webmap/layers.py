"""All exportable and servable layers: the gazetteer's, then the boundaries'."""

from boundaries.layers import BOUNDARY_LAYERS
from gazetteer.layers import GAZETTEER_LAYERS

LAYERS = (*GAZETTEER_LAYERS, *BOUNDARY_LAYERS)
