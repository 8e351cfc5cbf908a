"""OpenAPI paths of sign-in (``webmap.auth``): the login and logout pages with their forms,
who a request is made as, and the CSRF token for browser scripts."""

from webmap import schemas as s
from webmap.responses import CsrfToken, Me, form_body, html_page, operation, redirect

_SIGNED_IN = redirect("已登录：回到 next（本站路径）或首页；会话 cookie 随之发出")

PATHS = {
    "/auth/login": {
        "get": operation("登录页", html_page("登录表单")),
        "post": operation(
            "登录（表单；同一地址每分钟至多 10 次）",
            _SIGNED_IN,
            status="302",
            body=form_body(s.LoginForm),
            responses={"401": html_page("用户名或密码错误，或账号已停用：登录页再次显示")},
        ),
    },
    "/auth/logout": {
        "get": operation("退出登录页（确认按钮）", html_page("确认表单")),
        "post": operation(
            "退出登录（浏览器的表单带 CSRF 令牌；以令牌调用时可不带请求体）",
            redirect("会话已清除，回到首页"),
            status="302",
            body=form_body(s.LogoutForm, required=False),
        ),
    },
    "/auth/me": {"get": operation("请求者是谁（脚本检查令牌用）", Me)},
    "/auth/csrf-token": {
        "get": operation("浏览器脚本以会话 cookie 提交 JSON 时所需的 CSRF 令牌", CsrfToken)
    },
}
