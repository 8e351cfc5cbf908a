"""GENERATED test files for the office import (every name here is made up for tests).

Each builder writes a file from the same known CGCS2000 lon/lat points (EPSG:4490),
transformed with pyproj or ``gazetteer.core.crs`` into the coordinate system being tested,
so that an import can be checked against the points to the centimetre. File names start
with ``generated_`` and every table carries a 说明 column saying the rows are generated.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point

from gazetteer.core import crs

NOTE = "生成的测试数据（非真实地名）"

# Known CGCS2000 points (lon, lat degrees), all in the 3° zone of CM 114°E (zone 38).
POINTS = [
    ("测试甲路", "道路", 113.3245612, 23.1291534, "1001"),
    ("测试乙街", "街", 113.2643891, 23.1290217, "1002"),
    ("测试丙山", "山", 113.2983144, 23.1857263, "1003"),
    ("测试丁桥", "桥梁", 114.0579347, 22.5431024, "1004"),
    ("测试戊小区", "居民区", 114.4161528, 23.1124597, "1005"),
    ("测试己河", "河流", 113.5972412, 24.8104876, "1006"),
]
GEOD = Geod(ellps="GRS80")  # the CGCS2000 ellipsoid (GRS80 to 0.1 mm)


def distance_m(lon1, lat1, lon2, lat2) -> float:
    return abs(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _to(epsg: int):
    return Transformer.from_crs("EPSG:4490", f"EPSG:{epsg}", always_xy=True)


def _points_frame(columns: dict[str, int | None], epsg: int) -> gpd.GeoDataFrame:
    """POINTS in EPSG:``epsg``, a column per entry of ``columns``: the index of the point's
    field it holds, or None for NOTE."""
    t = _to(epsg)
    return gpd.GeoDataFrame(
        {column: [NOTE if i is None else p[i] for p in POINTS] for column, i in columns.items()},
        geometry=[Point(*t.transform(p[2], p[3])) for p in POINTS],
        crs=f"EPSG:{epsg}",
    )


def gauss_kruger_prefixed_csv(directory: Path) -> Path:
    """Zone 38 with the zone number in front of the easting (EPSG:4526), survey convention:
    X = northing, Y = easting; no coordinate system stated."""
    path = directory / "generated_gk_zone38.csv"
    t = _to(4526)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["标准名称", "地名类别", "X坐标", "Y坐标", "地名代码", "说明"])
        for name, cls, lon, lat, code in POINTS:
            east, north = t.transform(lon, lat)
            w.writerow([name, cls, f"{north:.4f}", f"{east:.4f}", code, NOTE])
    return path


def shapefile_cm114_zip(directory: Path, *, with_prj: bool = False) -> Path:
    """Points in CM 114°E without zone prefix (EPSG:4547); by default the .prj is left out,
    as in many office exports, so the zone has to be guessed."""
    frame = _points_frame({"NAME": 0, "CLASS": 1, "CODE": 4, "NOTE": None}, 4547)
    shp_dir = directory / "shp"
    shp_dir.mkdir(exist_ok=True)
    frame.to_file(shp_dir / "generated_places.shp", engine="pyogrio", encoding="UTF-8")
    path = directory / ("generated_cm114_prj.zip" if with_prj else "generated_cm114.zip")
    with zipfile.ZipFile(path, "w") as archive:
        for member in sorted(shp_dir.iterdir()):
            if member.suffix == ".prj" and not with_prj:
                continue
            archive.write(member, member.name)
    return path


def gcj02_csv(directory: Path) -> Path:
    """Longitude/latitude as an online map (Amap) gives them: GCJ-02."""
    path = directory / "generated_gcj02.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["名称", "类别", "lng", "lat", "说明"])
        for name, cls, lon, lat, _code in POINTS:
            glon, glat = crs.wgs84_to_gcj02(lon, lat)
            w.writerow([name, cls, f"{float(glon):.9f}", f"{float(glat):.9f}", NOTE])
    return path


def census_xlsx(directory: Path) -> Path:
    """A census registration sheet: a title row, then the form's column names, CGCS2000
    degrees written as degrees-minutes-seconds."""
    path = directory / "generated_census.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "地名普查登记表"
    ws.append([f"第二次全国地名普查 地名登记表（{NOTE}）"])
    ws.append(
        [
            "地名代码",
            "标准名称",
            "别名",
            "罗马字母拼写",
            "地名类别",
            "所在（跨）行政区",
            "东经",
            "北纬",
            "含义",
            "历史沿革",
            "地理实体描述",
            "命名时间",
            "设立年份",
            "说明",
        ]
    )
    for name, cls, lon, lat, code in POINTS:
        ws.append(
            [
                code,
                name,
                f"{name}旧称",
                None,
                cls,
                None,
                _dms(lon),
                _dms(lat),
                f"{name}的含义（生成）",
                "生成的沿革",
                "生成的描述",
                1990,
                1988,
                NOTE,
            ]
        )
    wb.save(path)
    return path


def _dms(value: float) -> str:
    deg = int(value)
    rest = (value - deg) * 60
    minutes = int(rest)
    seconds = (rest - minutes) * 60
    return f"{deg}°{minutes}′{seconds:.5f}″"


def geopackage_4547(directory: Path) -> Path:
    """A GeoPackage that states EPSG:4547: the points plus one road as a line."""
    t = _to(4547)
    geoms = [Point(*t.transform(p[2], p[3])) for p in POINTS]
    line = LineString([t.transform(113.33, 23.12), t.transform(113.34, 23.125)])
    frame = gpd.GeoDataFrame(
        {
            "标准名称": [p[0] for p in POINTS] + ["测试庚大道"],
            "地名类别": [p[1] for p in POINTS] + ["道路"],
            "地名代码": [p[4] for p in POINTS] + ["1007"],
            "说明": [NOTE] * (len(POINTS) + 1),
        },
        geometry=[*geoms, line],
        crs="EPSG:4547",
    )
    path = directory / "generated_places.gpkg"
    frame.to_file(path, layer="地名", engine="pyogrio")
    return path


def broken_geopackage(directory: Path) -> Path:
    path = directory / "generated_broken.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00garbage" * 50)
    return path


# Common characters for made-up specific terms: 100**3 = one million distinct names.
NAME_CHARS = (
    "安白宝北碧昌长朝成春大德东丰福富光广桂海和河红宏华怀惠吉嘉建江金锦景静康乐黎丽利莲良林"
    "龙隆美民明南宁平齐青庆仁荣瑞森山上尚胜石寿顺松太泰天田通同旺文西祥新兴秀雅阳怡永裕元云"
    "中珠竹紫丹凤鹤锋岚柳梅雁樱翠"
)
GENERIC_TERMS = ("路", "街", "巷", "大道", "里")


def generated_name(i: int) -> str:
    """A distinct made-up road name for each i < 1,000,000 (three characters + generic)."""
    a, b, c = i // 10_000 % 100, i // 100 % 100, i % 100
    return NAME_CHARS[a] + NAME_CHARS[b] + NAME_CHARS[c] + GENERIC_TERMS[i % len(GENERIC_TERMS)]


def big_csv(path: Path, rows: int) -> Path:
    """``rows`` generated CGCS2000 points spread over the Pearl River Delta (lon/lat)."""
    import numpy as np

    rng = np.random.default_rng(19)
    lons = rng.uniform(113.05, 113.55, rows)
    lats = rng.uniform(22.95, 23.35, rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["地名代码", "标准名称", "地名类别", "东经", "北纬", "说明"])
        for i in range(rows):
            w.writerow(
                [f"G{i:07d}", generated_name(i), "道路", f"{lons[i]:.7f}", f"{lats[i]:.7f}", NOTE]
            )
    return path


def filegdb_zip(directory: Path) -> Path:
    """A File Geodatabase (GDAL's OpenFileGDB writer) in CM 114°E, zipped as offices send it."""
    frame = _points_frame({"标准名称": 0, "地名类别": 1, "说明": None}, 4547)
    gdb = directory / "generated_places.gdb"
    frame.to_file(gdb, layer="dm", driver="OpenFileGDB", engine="pyogrio")
    path = directory / "generated_places.gdb.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for member in sorted(gdb.rglob("*")):
            archive.write(member, member.relative_to(directory))
    return path
