"""The pages: server-rendered, in Chinese, usable without JavaScript, every asset served
by the service itself (government intranets reach no CDN).

    /              → 报送列表, or 登录
    /sign-in       登录 (a token → a signed session cookie), /sign-out 退出
    /filings       报送列表 (filters, sorting, a total)     /filings/new   新建报送
    /filings/export  the list's whole result as CSV or XLSX
    /filings/{id}  报送详情 (package download, 固定性校验, 以本报告替换平台已有报告)
    /filings/{id}/correct, /withdraw, /schedule, /deliveries/{destination}/retry
                   更正, 撤回, 定时发布, 重新投递 (service.entrypoints.pages.actions)
    /deadlines     公开期限看板 (and /deadlines/export, CSV or XLSX)
    /audit         审计日志 (compliance and admin)
    /bodies        单位名录

Each page calls the use cases and the API's own route functions, so it answers what the
API answers for the same token."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from service.entrypoints.pages import (
    actions,
    audit,
    bodies,
    deadlines,
    export,
    filings,
    replacing,
    signin,
    submit,
)
from service.entrypoints.pages.services import PageServices

__all__ = ["PageServices", "install"]
STATIC = Path(__file__).with_name("static")


def install(app: FastAPI, pages: PageServices) -> None:
    app.state.pages = pages
    app.mount("/assets", StaticFiles(directory=STATIC), name="assets")
    app.include_router(signin.router)
    app.include_router(submit.router)  # /filings/new before /filings/{filing_id}
    app.include_router(export.router)  # /filings/export too
    app.include_router(filings.router)
    app.include_router(actions.router)
    app.include_router(replacing.router)
    app.include_router(deadlines.router)
    app.include_router(audit.router)
    app.include_router(bodies.router)
