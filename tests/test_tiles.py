"""Mapbox Vector Tiles of the layers (ST_AsMVT on PostGIS, mapbox-vector-tile on SQLite)."""

import mapbox_vector_tile
import pytest

from gazetteer.tiles import tile_bounds_deg


@pytest.fixture(scope="module")
def boundaries_template(store_templates, seeded_template):
    from boundaries.testing import build_boundaries

    return store_templates.template("ogc_boundaries", build_boundaries, base=seeded_template)


@pytest.fixture
def store(store_templates, boundaries_template, tmp_path):
    """The shipped data with boundary lines, tri-junctions and demonstration markers."""
    with store_templates.copy(boundaries_template, tmp_path) as s:
        yield s


# z=7 tile over the Pearl River Delta (广州, 深圳, 佛山, 东莞 ...)
Z, X, Y = 7, 104, 55


def decode(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.content_type == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.get_data()) if response.get_data() else {}


def test_tile_bounds_cover_the_delta():
    minlon, minlat, maxlon, maxlat = tile_bounds_deg(Z, X, Y)
    assert minlon < 113.3 < maxlon and minlat < 23.1 < maxlat


@pytest.mark.parametrize(
    "collection, props",
    [
        ("divisions", {"code", "name", "level"}),
        ("boundary_lines", {"id", "name", "kind", "length_km"}),
        ("places", {"id", "name", "feature_class"}),
    ],
)
def test_layers_are_served_as_vector_tiles(client, collection, props):
    tile = decode(client.get(f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{Z}/{Y}/{X}"))
    features = tile[collection]["features"]
    assert features and all(set(f["properties"]) <= props for f in features)
    assert all(0 <= c <= 4096 + 64 or c < 0 for f in features for c in _coords(f["geometry"]))


def _coords(geometry):
    stack = [geometry["coordinates"]]
    while stack:
        item = stack.pop()
        if isinstance(item, (int, float)):
            yield item
        else:
            stack.extend(item)


def test_tiles_filter_by_queryables_and_refuse_the_rest(client):
    tile = decode(
        client.get(f"/ogc/collections/divisions/tiles/WebMercatorQuad/{Z}/{Y}/{X}?level=county")
    )
    levels = {f["properties"]["level"] for f in tile["divisions"]["features"]}
    names = {f["properties"]["name"] for f in tile["divisions"]["features"]}
    assert levels == {"county"} and "天河区" in names
    base = "/ogc/collections/divisions/tiles/WebMercatorQuad"
    assert client.get(f"{base}/{Z}/{Y}/{X}?nope=1").status_code == 400
    assert client.get(f"{base}/3/0/8").status_code == 400  # column beyond 2^3
    assert client.get(f"{base}/30/0/0").status_code == 400
    assert client.get("/ogc/collections/divisions/tiles/WorldCRS84Quad/1/0/0").status_code == 404
    assert client.get("/ogc/collections/tri_junctions/tiles").status_code == 404


def test_an_empty_tile_is_empty_and_tiles_are_cached(client):
    empty = client.get("/ogc/collections/places/tiles/WebMercatorQuad/7/0/0")  # the Arctic
    assert empty.status_code == 200 and empty.get_data() == b""
    url = f"/ogc/collections/divisions/tiles/WebMercatorQuad/{Z}/{Y}/{X}"
    first = client.get(url)
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    other = client.get(f"/ogc/collections/divisions/tiles/WebMercatorQuad/{Z}/{Y}/{X + 1}")
    assert other.headers["ETag"] != first.headers["ETag"]


def test_collections_link_their_tilesets(client):
    col = client.get("/ogc/collections/places").get_json()
    link = next(link for link in col["links"] if link["rel"].endswith("tilesets-vector"))
    sets = client.get(link["href"].replace("http://localhost", "")).get_json()["tilesets"]
    assert sets[0]["links"][0]["href"].endswith("{tileMatrix}/{tileRow}/{tileCol}")
