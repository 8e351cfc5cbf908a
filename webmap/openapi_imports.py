"""OpenAPI paths of the office place-name import (``webmap.imports``; officers only): upload,
the run, its layers and sample points, the background preview and write, the report."""

from webmap import schemas as s
from webmap.responses import (
    ImportJob,
    ImportLayer,
    ImportRun,
    ImportRuns,
    ImportSample,
    file_content,
    form_body,
    operation,
)

_TAGS = {"tags": ["地名数据导入"]}
_STARTED = {"status": "202", "answer": ImportJob}

PATHS = {
    "/api/imports": {
        "get": operation("本人（或本单位）的导入记录", ImportRuns, **_TAGS),
        "post": operation(
            "上传一个单位的地名数据文件（multipart：file、source_name、office）",
            ImportRun,
            status="201",
            body=form_body(s.ImportUpload, "file"),
            **_TAGS,
        ),
    },
    "/api/imports/{run_id}": {
        "get": operation("一次导入及正在运行的任务进度", ImportRun, **_TAGS),
    },
    "/api/imports/{run_id}/layer": {
        "get": operation("图层的列、已保存或猜测的字段对应", ImportLayer, **_TAGS)
    },
    "/api/imports/{run_id}/crs-guess": {
        "post": operation("按坐标猜测坐标系", **_TAGS),
    },
    "/api/imports/{run_id}/configure": {
        "post": operation("设置图层、字段对应与坐标系", ImportRun, **_TAGS),
    },
    "/api/imports/{run_id}/sample": {
        "get": operation(
            "按所选坐标系换算到 CGCS2000 的样本点（地图预览）",
            ImportSample,
            **_TAGS,
        )
    },
    "/api/imports/{run_id}/preview": {
        "post": operation("在后台逐行预览（202：查询进度）", **_STARTED, **_TAGS),
    },
    "/api/imports/{run_id}/report.csv": {
        "get": operation(
            "预览的逐行报告（CSV，UTF-8 BOM）", file_content("CSV", "text/csv"), **_TAGS
        )
    },
    "/api/imports/{run_id}/write": {
        "post": operation("在后台写入预览过的数据（202：查询进度）", **_STARTED, **_TAGS),
    },
}
