"""Every feature collection the app serves (OGC API and map), in one tuple."""

from boundaries.layers import BOUNDARY_LAYERS
from gazetteer.features import GAZETTEER_COLLECTIONS, provider_from_layer

_BOUNDARY_DESCRIPTIONS = {
    "boundary_lines": "由区划面的共有边派生的省级、市级、县级行政区域界线，长度为 CGCS2000 椭球面测地长度；"
    "源数据已概化，长度短于实测（粤桂线实测 1,075 千米）。",
    "tri_junctions": "三个区划相交的三交点。",
    "boundary_markers": "界桩（演示数据：真实界桩坐标不公开，此处位置为在真实界线上生成的演示数据）。",
}

COLLECTIONS = (
    *GAZETTEER_COLLECTIONS,
    *(
        provider_from_layer(layer, _BOUNDARY_DESCRIPTIONS.get(layer.name, layer.title))
        for layer in BOUNDARY_LAYERS
    ),
)
