"""OpenAPI 3 description of the campaign endpoints (``webmap.campaigns``): the 大洋怪重
clean-up worklist (民发〔2018〕146号) and 上图 of names without geometry."""

from webmap.responses import file_content, operation, path_param

_CLEANUP = {"tags": ["地名清理"]}
_PLACEMENT = {"tags": ["上图"]}
_BATCH_FILE = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "crs"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "crs": {"type": "string", "description": "CGCS2000/WGS84/GCJ02/BD09/EPSG:代码"},
                    "id": {"type": "string"},
                    "x": {"type": "string"},
                    "y": {"type": "string"},
                },
            }
        }
    }
}


PATHS = {
    "/api/cleanup": {
        "get": operation(
            "“大、洋、怪、重”不规范地名清理工作清单与各市进度（工作人员）",
            **_CLEANUP,
        )
    },
    "/api/cleanup.csv": {
        "get": operation(
            "清理工作清单导出 CSV（UTF-8 BOM）",
            file_content("CSV", "text/csv"),
            **_CLEANUP,
        )
    },
    "/api/cleanup/build": {
        "post": operation("按现行命名规则审查现行地名并更新清单（审核人员）", **_CLEANUP)
    },
    "/api/cleanup/{item_id}/decision": {
        "post": operation(
            "保留（说明理由）或重新审查（审核人员）",
            params=[path_param("item_id", description="清单条目编号")],
            **_CLEANUP,
        )
    },
    "/api/placements/progress": {
        "get": operation(
            "各县区无图形地名与上图进度（工作人员）",
            **_PLACEMENT,
        )
    },
    "/api/placements/unplaced": {
        "get": operation(
            "某县区尚无图形的现行地名，下一个在前（工作人员）",
            **_PLACEMENT,
        )
    },
    "/api/placements/batch/preview": {
        "post": operation(
            "批量上图预览：上传实测坐标文件，逐行说明结果（审核人员）",
            body=_BATCH_FILE,
            **_PLACEMENT,
        )
    },
    "/api/placements/batch": {
        "post": operation(
            "按预览结果（预览时的坐标系与列）在同一事务中上图（审核人员）：{digest}",
            **_PLACEMENT,
        )
    },
}
