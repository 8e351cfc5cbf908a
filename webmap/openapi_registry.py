"""OpenAPI 3 description of the registry endpoints (``webmap.registry_api``).

``PATHS`` is merged into /api/openapi.json (``webmap.openapi``); the answers' schemas are
the response models of ``webmap.responses``, the request bodies those of ``webmap.schemas``.
"""

from webmap import responses as r
from webmap import schemas
from webmap.responses import json_content, query_param, query_parameters


def _query(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return query_param(name, schema or {"type": "string"}, description, required=required)


def _path(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer"} if name.endswith("_id") else {"type": "string"},
    }


ERRORS = {
    status: r.error(text)
    for status, text in {
        "400": "输入有误",
        "403": "无权操作",
        "404": "未找到",
        "409": "状态冲突：不允许的状态转换（illegal_transition）或他人已先处理（conflict）",
        "422": "合规审查有阻断性问题且未记录豁免（rule_violation）",
    }.items()
}

PATHS = {
    "/api/places": {
        "get": {
            "tags": ["地名记录"],
            "summary": "按名称查询地名记录（可按过去某日的名称查）",
            "parameters": query_parameters(schemas.PlacesQuery),
            "responses": {
                "200": json_content("成功", r.PlaceList),
                "400": ERRORS["400"],
                "404": ERRORS["404"],
            },
        }
    },
    "/api/places/{place_id}": {
        "get": {
            "tags": ["地名记录"],
            "summary": "一条地名记录，现状或某日时的状态",
            "parameters": [
                _path("place_id", "地名记录编号（永不复用）"),
                *query_parameters(schemas.PlaceQuery),
            ],
            "responses": {
                "200": json_content("成功", r.Place),
                "400": ERRORS["400"],
                "404": ERRORS["404"],
            },
        }
    },
    "/api/places/{place_id}/history": {
        "get": {
            "tags": ["地名记录"],
            "summary": "记录的全部版本与名称沿革（前名、后名）",
            "parameters": [_path("place_id", "地名记录编号")],
            "responses": {"200": json_content("成功", r.PlaceHistory), "404": ERRORS["404"]},
        }
    },
    "/api/places/statistics": {
        "get": {
            "tags": ["统计"],
            "summary": "年度命名、更名、销名数量（按下一级区划）",
            "parameters": query_parameters(schemas.StatisticsQuery),
            "responses": {
                "200": json_content("成功", r.AnnualStatistics),
                "400": ERRORS["400"],
                "404": ERRORS["404"],
            },
        }
    },
    "/api/places/statistics.png": {
        "get": {
            "tags": ["统计"],
            "summary": "年度统计柱状图（PNG）",
            "parameters": query_parameters(schemas.StatisticsQuery),
            "responses": {
                "200": {
                    "description": "PNG 图",
                    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                },
                "400": ERRORS["400"],
                "404": ERRORS["404"],
            },
        }
    },
    "/api/proposals": {
        "get": {
            "tags": ["申请"],
            "summary": "申请列表（公众只见公示中、已公告、已生效的申请）",
            "parameters": query_parameters(schemas.ProposalsQuery),
            "responses": {"200": json_content("成功", r.ProposalList), "400": ERRORS["400"]},
        },
        "post": {
            "tags": ["申请"],
            "summary": "起草命名、更名或销名申请（经办人）",
            "responses": {
                "201": json_content("已起草", r.Proposal),
                "400": ERRORS["400"],
                "403": ERRORS["403"],
                "404": ERRORS["404"],
            },
        },
    },
    "/api/proposals/workflow": {
        "get": {
            "tags": ["申请"],
            "summary": "状态机：每个操作的起始状态、目标状态和所需角色",
            "responses": {"200": json_content("成功", r.Workflow)},
        }
    },
    "/api/places/{place_id}/protection": {
        "get": {
            "tags": ["地名记录"],
            "summary": "地名保护名录：该记录是否列入、理由与依据（第二十五条）",
            "parameters": [_path("place_id", "地名记录编号")],
            "responses": {"200": json_content("成功")},
        },
        "post": {
            "tags": ["地名记录"],
            "summary": "列入地名保护名录（审核人员）：{reason, source}",
            "parameters": [_path("place_id", "地名记录编号")],
            "responses": {"201": json_content("成功"), "403": {"description": "非审核人员"}},
        },
    },
    "/api/places/reading-corrections": {
        "get": {
            "tags": ["地名记录"],
            "summary": "读音更正清单：审定的地名读音表给出不同拼写的现行地名（工作人员）",
            "responses": {"200": json_content("成功"), "403": {"description": "非工作人员"}},
        },
        "post": {
            "tags": ["地名记录"],
            "summary": "按读音表更正拼写，每条记录留存更正前的版本（审核人员）",
            "responses": {"200": json_content("成功"), "403": {"description": "非审核人员"}},
        },
    },
    "/api/proposals/due": {
        "get": {
            "tags": ["申请"],
            "summary": "待办：公示即将结束、公示期满待决定、备案（第十三条）和公告（第十四条）到期或逾期",
            "parameters": query_parameters(schemas.DueQuery),
            "responses": {
                "200": json_content("成功", r.DueItems),
                "403": {"description": "未登录或非工作人员"},
            },
        }
    },
    "/api/proposals/{proposal_id}": {
        "get": {
            "tags": ["申请"],
            "summary": "一件申请（工作人员可见审查结果、意见和办理记录）",
            "parameters": [_path("proposal_id", "申请编号")],
            "responses": {"200": json_content("成功", r.Proposal), "404": ERRORS["404"]},
        }
    },
    "/api/proposals/{proposal_id}/announcement": {
        "get": {
            "tags": ["申请"],
            "summary": "公告文本（《地名管理条例》第十四条）",
            "parameters": [_path("proposal_id", "申请编号")],
            "responses": {
                "200": json_content("成功", r.Announcement),
                "400": ERRORS["400"],
                "404": ERRORS["404"],
            },
        }
    },
    "/api/proposals/{proposal_id}/actions/{action}": {
        "post": {
            "tags": ["申请"],
            "summary": "办理一步：提交、审查、论证、公示、审批、公告、生效、退回、撤回……",
            "description": "须带上所看到的版本号 version；他人已先处理时返回 409 conflict，整个操作不生效。"
            "各操作所需角色与参数见 /api/proposals/workflow 与 ProposalAction。",
            "parameters": [
                _path("proposal_id", "申请编号"),
                {
                    "name": "action",
                    "in": "path",
                    "required": True,
                    "schema": {
                        "type": "string",
                        "enum": [
                            "edit",
                            "submit",
                            "check",
                            "return",
                            "override",
                            "start_review",
                            "add_opinion",
                            "confirm_romanization",
                            "publish_notice",
                            "approve",
                            "reject",
                            "announce",
                            "bring_into_force",
                            "withdraw",
                        ],
                    },
                },
            ],
            "responses": {"200": json_content("成功", r.Proposal), **ERRORS},
        }
    },
}
