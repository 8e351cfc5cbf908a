"""All exportable and servable layers: the gazetteer's, then the boundaries'."""

from gazetteer.layers import GAZETTEER_LAYERS

LAYERS = (*GAZETTEER_LAYERS,)
