"""OpenAPI 3 description of the registry endpoints (``webmap.registry_api``).

``PATHS`` is merged into /api/openapi.json (``webmap.openapi``); the answers' schemas are
the response models of ``webmap.responses``, the request bodies those of ``webmap.schemas``.
"""

from gazetteer.workflow import STEPS_BY_ACTION
from webmap import responses as r
from webmap.responses import file_content, operation, path_param


def one_of(values) -> dict:
    return {"type": "string", "enum": list(values)}


_PLACE = {"tags": ["地名记录"]}
_PROPOSAL = {"tags": ["申请"]}
_STATISTICS = {"tags": ["统计"]}
_ERRORS = {
    "409": r.error(
        "状态冲突：不允许的状态转换（illegal_transition）、他人已先处理（conflict）"
        "或记录已损坏、须管理员修复（damaged_record）"
    ),
    "422": r.error("合规审查有阻断性问题且未记录豁免（rule_violation）"),
}

PATHS = {
    "/api/places": {
        "get": operation(
            "按名称查询地名记录（可按过去某日的名称查）",
            r.PlaceList,
            **_PLACE,
        )
    },
    "/api/places/{place_id}": {
        "get": operation(
            "一条地名记录，现状或某日时的状态",
            r.Place,
            params=[
                path_param("place_id", description="地名记录编号（永不复用）"),
            ],
            **_PLACE,
        )
    },
    "/api/places/{place_id}/history": {
        "get": operation("记录的全部版本与名称沿革（前名、后名）", r.PlaceHistory, **_PLACE)
    },
    "/api/places/statistics": {
        "get": operation(
            "年度命名、更名、销名数量（按下一级区划）", r.AnnualStatistics, **_STATISTICS
        )
    },
    "/api/places/statistics.png": {
        "get": operation(
            "年度统计柱状图（PNG）", file_content("PNG 图", "image/png"), **_STATISTICS
        )
    },
    "/api/proposals": {
        "get": operation(
            "申请列表（公众只见公示中、已公告、已生效的申请）",
            r.ProposalList,
            **_PROPOSAL,
        ),
        "post": operation(
            "起草命名、更名或销名申请（经办人）", r.Proposal, status="201", **_PROPOSAL
        ),
    },
    "/api/proposals/workflow": {
        "get": operation("状态机：每个操作的起始状态、目标状态和所需角色", r.Workflow, **_PROPOSAL)
    },
    "/api/places/{place_id}/protection": {
        "get": operation("地名保护名录：该记录是否列入、理由与依据（第二十五条）", **_PLACE),
        "post": operation("列入地名保护名录（审核人员）：{reason, source}", status="201", **_PLACE),
    },
    "/api/places/reading-corrections": {
        "get": operation(
            "读音更正清单：审定的地名读音表给出不同拼写的现行地名（工作人员）", **_PLACE
        ),
        "post": operation("按读音表更正拼写，每条记录留存更正前的版本（审核人员）", **_PLACE),
    },
    "/api/proposals/due": {
        "get": operation(
            "待办：公示即将结束、公示期满待决定、备案（第十三条）和公告（第十四条）到期或逾期",
            r.DueItems,
            **_PROPOSAL,
        )
    },
    "/api/proposals/{proposal_id}": {
        "get": operation(
            "一件申请（工作人员可见审查结果、意见和办理记录）", r.Proposal, **_PROPOSAL
        )
    },
    "/api/proposals/{proposal_id}/announcement": {
        "get": operation("公告文本（《地名管理条例》第十四条）", r.Announcement, **_PROPOSAL)
    },
    "/api/proposals/{proposal_id}/actions/{action}": {
        "post": operation(
            "办理一步：提交、审查、论证、公示、审批、公告、生效、退回、撤回……",
            r.Proposal,
            description="须带上所看到的版本号 version；他人已先处理时返回 409 conflict，"
            "整个操作不生效。各操作所需角色与参数见 /api/proposals/workflow 与 ProposalAction。",
            params=[path_param("action", one_of(STEPS_BY_ACTION))],
            responses=_ERRORS,
            **_PROPOSAL,
        )
    },
}
