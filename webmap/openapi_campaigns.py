"""OpenAPI 3 description of the campaign endpoints (``webmap.campaigns``): the 大洋怪重
clean-up worklist (民发〔2018〕146号) and 上图 of names without geometry."""

from gazetteer.cleanup import KINDS, STATUSES
from webmap.openapi_registry import _path, _query
from webmap.responses import error, file_content, json_content

_STAFF = {"403": error("非地名工作人员")}
_OFFICER = {"403": error("非审核人员")}
_FILTERS = [
    _query("city", "地级市代码"),
    _query("county", "县级区划代码"),
    _query("status", "状态", {"type": "string", "enum": list(STATUSES)}),
    _query("kind", "类型", {"type": "string", "enum": list(KINDS)}),
    _query("q", "名称包含的文字"),
]

PATHS = {
    "/api/cleanup": {
        "get": {
            "tags": ["地名清理"],
            "summary": "“大、洋、怪、重”不规范地名清理工作清单与各市进度（工作人员）",
            "parameters": [
                *_FILTERS,
                _query("offset", "跳过条数", {"type": "integer", "default": 0}),
                _query("limit", "条数上限 1–1000", {"type": "integer", "default": 100}),
            ],
            "responses": {"200": json_content("成功", {"type": "object"}), **_STAFF},
        }
    },
    "/api/cleanup.csv": {
        "get": {
            "tags": ["地名清理"],
            "summary": "清理工作清单导出 CSV（UTF-8 BOM）",
            "parameters": _FILTERS,
            "responses": {
                "200": file_content("CSV", "text/csv"),
                **_STAFF,
            },
        }
    },
    "/api/cleanup/build": {
        "post": {
            "tags": ["地名清理"],
            "summary": "按现行命名规则审查现行地名并更新清单（审核人员）",
            "responses": {"200": json_content("成功", {"type": "object"}), **_OFFICER},
        }
    },
    "/api/cleanup/{item_id}/decision": {
        "post": {
            "tags": ["地名清理"],
            "summary": "保留（说明理由）或重新审查（审核人员）",
            "parameters": [_path("item_id", "清单条目编号")],
            "responses": {"200": json_content("成功", {"type": "object"}), **_OFFICER},
        }
    },
    "/api/placements/progress": {
        "get": {
            "tags": ["上图"],
            "summary": "各县区无图形地名与上图进度（工作人员）",
            "parameters": [_query("city", "地级市代码")],
            "responses": {"200": json_content("成功", {"type": "object"}), **_STAFF},
        }
    },
    "/api/placements/unplaced": {
        "get": {
            "tags": ["上图"],
            "summary": "某县区尚无图形的现行地名，下一个在前（工作人员）",
            "parameters": [
                _query("county", "县级区划代码", required=True),
                _query("after", "从该记录编号之后开始", {"type": "integer"}),
                _query("limit", "条数上限 1–1000", {"type": "integer", "default": 50}),
            ],
            "responses": {"200": json_content("成功", {"type": "object"}), **_STAFF},
        }
    },
    "/api/placements/batch/preview": {
        "post": {
            "tags": ["上图"],
            "summary": "批量上图预览：上传实测坐标文件，逐行说明结果（审核人员）",
            "requestBody": {
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file", "crs"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "crs": {
                                    "type": "string",
                                    "description": "CGCS2000/WGS84/GCJ02/BD09/EPSG:代码",
                                },
                                "id": {"type": "string"},
                                "x": {"type": "string"},
                                "y": {"type": "string"},
                            },
                        }
                    }
                }
            },
            "responses": {"200": json_content("成功", {"type": "object"}), **_OFFICER},
        }
    },
    "/api/placements/batch": {
        "post": {
            "tags": ["上图"],
            "summary": "按预览结果（预览时的坐标系与列）在同一事务中上图（审核人员）：{digest}",
            "responses": {"200": json_content("成功", {"type": "object"}), **_OFFICER},
        }
    },
}
