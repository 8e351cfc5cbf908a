"""Marker and inspection photos, stored as ``<DATA_DIR>/photos/<sha256>.<ext>``.

The content type is decided by the file's magic bytes (JPEG, PNG or WebP only), never by
the client's file name or header, and the stored name is the content hash: a client name
such as ``../../etc/passwd`` can never reach the file system.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from boundaries.inspections import record_uuid
from boundaries.tables import inspections, marker_photos, markers
from gazetteer.core.actors import require_role
from gazetteer.core.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from gazetteer.core.store import Store, first_or_not_found

MAX_PHOTO_BYTES = 10 * 1024 * 1024


def sniff_image_type(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from magic bytes, or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def photo_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "photos"


@dataclass(frozen=True)
class Photo:
    """A picture of a marker as a user sends it: the file's bytes, a caption (blank is
    none), and the inspection record (its UUID) it belongs to, if any."""

    data: bytes
    caption: str | None = None
    inspection_id: str | None = None


def store_photo(
    store: Store, data_dir: Path, marker_id: int, photo: Photo, actor
) -> tuple[dict, bool]:
    """Validate and store one photo of a marker (optionally of an inspection); returns (the
    photo's row, whether it was new). The same bytes for the same marker again are the same
    photo, as a resent inspection record is the same record: with the same caption and
    inspection the stored row is returned (an offline retry stores nothing twice); with
    another caption or inspection it is a ``Conflict`` carrying the stored photo
    (``details.stored``) and nothing changes, so the client never believes its new
    caption was kept."""
    data, inspection_id = photo.data, photo.inspection_id
    caption = (photo.caption or "").strip() or None
    require_role(actor, {"inspector", "officer"}, "上传界桩照片")
    if inspection_id is not None:
        inspection_id = record_uuid(inspection_id, "inspection_id")
    if len(data) > MAX_PHOTO_BYTES:
        raise PayloadTooLarge(
            f"照片超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB 上限", details={"field": "photo"}
        )
    kind = sniff_image_type(data)
    if kind is None:
        raise InvalidInput(
            "照片（photo）只接受 JPEG、PNG 或 WebP 图片（按文件内容判断，不看文件名）",
            details={"field": "photo"},
        )
    content_type, ext = kind
    digest = hashlib.sha256(data).hexdigest()
    file_name = f"{digest}.{ext}"
    with store.write(actor=actor) as conn:
        if conn.execute(sa.select(markers.c.id).where(markers.c.id == marker_id)).first() is None:
            raise NotFound(f"界桩不存在：{marker_id}", details={"field": "marker_id"})
        if (
            inspection_id is not None
            and conn.execute(
                sa.select(inspections.c.id).where(
                    inspections.c.id == inspection_id, inspections.c.marker_id == marker_id
                )
            ).first()
            is None
        ):
            raise NotFound(
                f"该界桩没有检查记录：{inspection_id}", details={"field": "inspection_id"}
            )
        old = conn.execute(
            sa.select(marker_photos).where(
                marker_photos.c.marker_id == marker_id, marker_photos.c.sha256 == digest
            )
        ).first()
        if old is not None:
            stored = old._asdict()
            changed = [
                name
                for name, value in (("caption", caption), ("inspection_id", inspection_id))
                if value != stored[name]
            ]
            if changed:
                raise Conflict(
                    "这张照片已以不同的说明或检查记录保存，未作任何更改：已保存的版本见 "
                    "details.stored",
                    details={"field": changed[0], "fields": changed, "stored": stored},
                )
            return stored, False
        target = photo_dir(data_dir) / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            # Write then rename: a crash never leaves a half-written file under the final name.
            tmp = target.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(target)
        conn.execute(
            marker_photos.insert().values(
                marker_id=marker_id,
                inspection_id=inspection_id,
                sha256=digest,
                file_name=file_name,
                content_type=content_type,
                size_bytes=len(data),
                caption=caption,
                uploaded_by=actor.username,
            )
        )
        return (
            conn.execute(
                sa.select(marker_photos).where(
                    marker_photos.c.marker_id == marker_id, marker_photos.c.sha256 == digest
                )
            )
            .first()
            ._asdict()
        ), True


def photo_path(store: Store, data_dir: Path, sha256: str) -> tuple[Path, str]:
    """(path, content type) of a stored photo by its hash; NotFound otherwise."""
    with store.read() as conn:
        row = first_or_not_found(
            conn,
            sa.select(marker_photos.c.file_name, marker_photos.c.content_type).where(
                marker_photos.c.sha256 == sha256
            ),
            "照片不存在",
        )
    return photo_dir(data_dir) / row.file_name, row.content_type
