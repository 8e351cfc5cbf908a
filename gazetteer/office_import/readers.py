"""Read an office's file in chunks: Shapefile (zipped), GeoPackage, File Geodatabase,
GeoJSON, CSV and Excel .xlsx.

Nothing is loaded whole: vector layers are read ``chunk_size`` features at a time with
pyogrio (``skip_features``/``max_features``), CSV with the csv module, Excel with openpyxl in
read-only mode. Each chunk gives the file's own row numbers (the feature id of a vector
layer, the line or sheet row of a table), the attribute values by column, and the
geometry as stored (shapely, in the file's coordinate system) or None.

Raises ``InvalidInput`` (message in Chinese) for a file that cannot be read.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import shutil
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import shapely

from gazetteer.core.errors import InvalidInput
from gazetteer.office_import.fields import guess_mapping

FORMATS_ZH = {
    "shapefile": "Shapefile（zip）",
    "gpkg": "GeoPackage",
    "filegdb": "File Geodatabase",
    "geojson": "GeoJSON",
    "csv": "CSV",
    "xlsx": "Excel (.xlsx)",
}
VECTOR_FORMATS = ("shapefile", "gpkg", "filegdb", "geojson")
CSV_LAYER = "csv"
HEADER_SEARCH_ROWS = 10  # census sheets often carry a title row or two above the header


@dataclass
class LayerInfo:
    """One layer (vector layer or sheet): its columns, size and the coordinate system the
    file states (an EPSG tag such as 'EPSG:4547', or None when it says nothing)."""

    name: str
    columns: list[str]
    feature_count: int | None
    geometry_type: str | None = None
    stated_crs: str | None = None
    stated_crs_name: str | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "guessed_mapping": guess_mapping(self.columns)}


@dataclass
class Chunk:
    rows: list[int]
    values: list[dict]
    geoms: list = field(default_factory=list)  # shapely or None, in the file's CRS


def detect_format(path: Path) -> str:
    """The format from the name (and a zip's contents). Raises InvalidInput."""
    name = path.name.lower()
    if path.is_dir() and name.endswith(".gdb"):
        return "filegdb"
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m.lower() for m in archive.namelist()]
        except zipfile.BadZipFile:
            raise InvalidInput("zip 文件已损坏，无法打开", details={"file": path.name}) from None
        if any(".gdb/" in m for m in members):
            return "filegdb"
        if any(m.endswith(".shp") for m in members):
            return "shapefile"
        raise InvalidInput(
            "zip 中没有 .shp 文件或 .gdb 文件夹",
            details={"file": path.name, "members": members[:20]},
        )
    for suffix, fmt in (
        (".gpkg", "gpkg"),
        (".geojson", "geojson"),
        (".json", "geojson"),
        (".csv", "csv"),
        (".txt", "csv"),
        (".xlsx", "xlsx"),
    ):
        if name.endswith(suffix):
            return fmt
    if name.endswith(".xls"):
        raise InvalidInput("不支持旧版 .xls，请在 Excel 中另存为 .xlsx")
    raise InvalidInput(
        "不支持的文件类型：请上传 Shapefile（zip）、GeoPackage、File Geodatabase（zip）、"
        "GeoJSON、CSV 或 Excel .xlsx",
        details={"file": path.name},
    )


def _stated_crs(crs_text: str | None) -> tuple[str | None, str | None]:
    if not crs_text:
        return None, None
    from pyproj import CRS

    try:
        crs = CRS.from_user_input(crs_text)
    except Exception:  # an unreadable .prj is the same as none: the officer states it
        return None, None
    epsg = crs.to_epsg(min_confidence=25)
    return (f"EPSG:{epsg}" if epsg else None), crs.name


@contextlib.contextmanager
def _gdal_quiet():
    """GDAL reports oddities of a damaged file as Python RuntimeWarnings from inside its
    error handler; the read itself raises when it cannot go on, and that is what counts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _ogr_path(path: Path, fmt: str) -> str:
    if path.name.lower().endswith(".zip"):
        repaired = _repaired_shapefile_zip(path) if fmt == "shapefile" else None
        return str(repaired) if repaired is not None else f"/vsizip/{path}"
    return str(path)


def repair_dbf_field_names(header: bytes) -> bytes | None:
    """A DBF header whose UTF-8 field names were cut at 11 bytes in the middle of a
    character (ogr2ogr writing Chinese names: 标准名称 is 12 bytes) with the broken tail
    dropped, so GDAL can decode them (标准名); None when every name is already whole.
    Names made equal by the cut get their column position appended."""
    length = int.from_bytes(header[8:10], "little")
    out, changed, seen = bytearray(header), False, set()
    for position, start in enumerate(range(32, min(length, len(header)) - 31, 32), 1):
        if header[start] == 0x0D:  # end of the field descriptors
            break
        raw = header[start : start + 11].split(b"\x00", 1)[0]
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("utf-8", "ignore") or f"F{position}"
            changed = True
        if name in seen:
            name, changed = f"{name[:6]}{position}", True
        seen.add(name)
        out[start : start + 11] = name.encode("utf-8")[:10].ljust(11, b"\x00")
    return bytes(out) if changed else None


def _repaired_shapefile_zip(path: Path) -> Path | None:
    """A folder beside the zip holding its shapefiles with repaired field names (see
    ``repair_dbf_field_names``), made once; None when the zip needs no repair."""
    folder = path.with_name(path.name + ".repaired")
    if folder.is_dir():
        return folder
    with zipfile.ZipFile(path) as archive:
        dbfs = [m for m in archive.namelist() if m.lower().endswith(".dbf")]
        fixes = {}
        for member in dbfs:
            with archive.open(member) as f:
                head = f.read(32)
                length = int.from_bytes(head[8:10], "little") if len(head) >= 10 else 0
                fixed = repair_dbf_field_names(head + f.read(max(length - 32, 0)))
            if fixed is not None:
                fixes[member] = fixed
        if not fixes:
            return None
        temp = path.with_name(path.name + ".repairing")
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir()
        for member in archive.namelist():
            if member.endswith("/"):
                continue
            target = temp / Path(member).name  # flattened: no path from the zip is followed
            with archive.open(member) as f:
                data = f.read()
            if member in fixes:
                data = fixes[member] + data[len(fixes[member]) :]
            target.write_bytes(data)
    temp.rename(folder)
    return folder


class SourceFile:
    """An uploaded file opened for reading; ``layers()``, ``info(layer)``, ``chunks()``."""

    def __init__(self, path: str | Path, *, encoding: str | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise InvalidInput(f"文件不存在：{self.path.name}")
        self.format = detect_format(self.path)
        self.encoding = encoding
        self._csv_encoding: str | None = None

    # ------------------------------------------------------------------ layers

    def layers(self) -> list[str]:
        if self.format in VECTOR_FORMATS:
            import pyogrio

            try:
                return [
                    str(row[0]) for row in pyogrio.list_layers(_ogr_path(self.path, self.format))
                ]
            except Exception as exc:
                raise InvalidInput(
                    f"无法读取文件（{FORMATS_ZH[self.format]}）：{exc}",
                    details={"file": self.path.name},
                ) from None
        if self.format == "xlsx":
            workbook = self._workbook()
            try:
                return list(workbook.sheetnames)
            finally:
                workbook.close()
        # One fixed name: the layer is part of each record's source key, so it must not
        # depend on what the file happened to be called when uploaded.
        return [CSV_LAYER]

    def _check_layer(self, layer: str | None) -> str:
        names = self.layers()
        if layer in (None, ""):
            return names[0]
        if layer not in names:
            raise InvalidInput(f"文件中没有图层或工作表“{layer}”", details={"layers": names})
        return layer

    def info(self, layer: str | None = None) -> LayerInfo:
        layer = self._check_layer(layer)
        if self.format in VECTOR_FORMATS:
            import pyogrio

            try:
                with _gdal_quiet():
                    meta = pyogrio.read_info(_ogr_path(self.path, self.format), layer=layer)
            except Exception as exc:
                raise InvalidInput(f"无法读取图层“{layer}”：{exc}") from None
            stated, stated_name = _stated_crs(meta.get("crs"))
            return LayerInfo(
                layer,
                [str(c) for c in meta["fields"]],
                int(meta["features"]) if meta.get("features", -1) >= 0 else None,
                meta.get("geometry_type"),
                stated,
                stated_name,
            )
        if self.format == "csv":
            try:
                with self._csv_text() as text:
                    header = next(csv.reader(text), None)
                    count = sum(1 for _ in text)
            except UnicodeDecodeError:
                # The same refusal as when the rows are read (a bad byte anywhere in the file).
                raise InvalidInput("CSV 文件的编码无法识别：请保存为 UTF-8 或 GB18030") from None
            if not header:
                raise InvalidInput("CSV 文件为空或没有表头")
            return LayerInfo(layer, [h.strip() for h in header], count)
        workbook = self._workbook()
        try:
            sheet = workbook[layer]
            header_row, header = self._sheet_header(sheet)
            count = max((sheet.max_row or 0) - header_row, 0)
        finally:
            workbook.close()
        return LayerInfo(layer, header, count)

    # ------------------------------------------------------------------ chunks

    def chunks(self, layer: str | None = None, chunk_size: int = 5000) -> Iterator[Chunk]:
        layer = self._check_layer(layer)
        if self.format in VECTOR_FORMATS:
            yield from self._vector_chunks(layer, chunk_size)
        elif self.format == "csv":
            yield from self._csv_chunks(chunk_size)
        else:
            yield from self._sheet_chunks(layer, chunk_size)

    def _vector_chunks(self, layer: str, chunk_size: int) -> Iterator[Chunk]:
        from pyogrio.raw import read

        source = _ogr_path(self.path, self.format)
        skip = 0
        while True:
            try:
                with _gdal_quiet():
                    meta, fids, wkb, field_data = read(
                        source,
                        layer=layer,
                        skip_features=skip,
                        max_features=chunk_size,
                        return_fids=True,
                        encoding=self.encoding,
                    )
            except ValueError as exc:
                if "skip_features" in str(exc):  # skipped past the end
                    return
                raise InvalidInput(f"无法读取图层“{layer}”：{exc}") from None
            except Exception as exc:
                raise InvalidInput(f"无法读取图层“{layer}”：{exc}") from None
            n = len(fids)
            if n == 0:
                return
            names = [str(c) for c in meta["fields"]]
            columns = [list(col) for col in field_data]
            values = [
                {name: _plain(columns[j][i]) for j, name in enumerate(names)} for i in range(n)
            ]
            geoms = list(shapely.from_wkb(wkb)) if wkb is not None else [None] * n
            yield Chunk([int(f) for f in fids], values, geoms)
            skip += n
            if n < chunk_size:
                return

    def _csv_text(self):
        if self._csv_encoding is None:
            head = self.path.read_bytes()[:65536]
            self._csv_encoding = self.encoding or _sniff_encoding(head)
        return self.path.open(encoding=self._csv_encoding, newline="", errors="strict")

    def _csv_chunks(self, chunk_size: int) -> Iterator[Chunk]:
        try:
            with self._csv_text() as text:
                reader = csv.reader(text)
                header = [h.strip() for h in next(reader, [])]
                numbered = (
                    (line_no, dict(zip(header, (c.strip() for c in row), strict=False)))
                    for line_no, row in enumerate(reader, start=2)
                    if any(cell.strip() for cell in row)
                )
                yield from _chunks_without_geometry(numbered, chunk_size)
        except UnicodeDecodeError:
            raise InvalidInput("CSV 文件的编码无法识别：请保存为 UTF-8 或 GB18030") from None
        except csv.Error as exc:
            raise InvalidInput(f"CSV 文件格式有误：{exc}") from None

    def _workbook(self):
        import openpyxl

        try:
            return openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:
            raise InvalidInput(
                f"无法打开 Excel 文件：{exc}", details={"file": self.path.name}
            ) from None

    def _sheet_header(self, sheet) -> tuple[int, list[str]]:
        """(row number, column names) of the header: the first of the top rows in which at
        least two columns are known census names, else the first non-empty row."""
        first = None
        for row_no, row in enumerate(
            sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True), start=1
        ):
            names = ["" if v is None else str(v).strip() for v in row]
            if not any(names):
                continue
            if first is None:
                first = (row_no, names)
            if len(guess_mapping(names)) >= 2:
                return row_no, names
        if first is None:
            raise InvalidInput(f"工作表“{sheet.title}”是空的")
        return first

    def _sheet_chunks(self, layer: str, chunk_size: int) -> Iterator[Chunk]:
        workbook = self._workbook()
        try:
            sheet = workbook[layer]
            header_row, header = self._sheet_header(sheet)
            numbered = (
                (row_no, {h: _plain(v) for h, v in zip(header, row, strict=False) if h})
                for row_no, row in enumerate(
                    sheet.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1
                )
                if any(v not in (None, "") for v in row)
            )
            yield from _chunks_without_geometry(numbered, chunk_size)
        finally:
            workbook.close()


def _chunks_without_geometry(numbered: Iterator[tuple[int, dict]], size: int) -> Iterator[Chunk]:
    """Chunks of at most ``size`` rows from (row number, values) pairs of a file that has no
    geometry column (CSV, Excel): every geometry is None."""
    chunk = Chunk([], [])
    for row_no, values in numbered:
        chunk.rows.append(row_no)
        chunk.values.append(values)
        chunk.geoms.append(None)
        if len(chunk.rows) >= size:
            yield chunk
            chunk = Chunk([], [])
    if chunk.rows:
        yield chunk


def _plain(value):
    """Cell and field values as str, int, float, date or None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN from an empty numeric field
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.strip()
    return value


def _sniff_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else GB18030 (what Excel
    on a Chinese system writes)."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        io.TextIOWrapper(io.BytesIO(head), encoding="utf-8").read()
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A cut multi-byte character at the end of the sample is still UTF-8.
        if exc.start >= len(head) - 3:
            return "utf-8"
        return "gb18030"
