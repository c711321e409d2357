"""The web application: routes, error pages, security headers and the access log.

:func:`create_app` builds it on :class:`~commissioning.web.services.WebSettings`; the
``commissioning serve`` command runs it with uvicorn. Every response carries a strict
Content-Security-Policy (no script or style from anywhere but this server; the analyses,
self-contained pages with their charts inline, get their own narrow policy), and is not
cached once someone is signed in. Every request by a signed-in person is written to the
access log with its kind (financial, person-level, action, ...) and outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from commissioning.operations.base import OperationError
from commissioning.store.records import RecordStore
from commissioning.web.services import Services, WebSettings
from commissioning.web.views import Refused

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
#: The analyses are self-contained pages (their chart library and styles inline).
REPORT_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'none'"
)


def category_of(method: str, path: str) -> str:
    """The kind of a request, for the access log."""
    bare = path.removeprefix("/api/v1")
    if method != "GET":
        return "action"
    if bare.startswith("/analysis/people"):
        return "person_level"
    if bare.startswith(("/contracts", "/attention")) or bare == "/":
        return "financial"
    if bare.startswith("/analysis"):
        return "analysis"
    if bare.startswith(("/audit", "/admin")):
        return "administration"
    if bare.startswith("/data"):
        return "data"
    return "page"


def create_app(settings: WebSettings, store: RecordStore | None = None) -> FastAPI:
    """The workbench on ``settings`` (``store``: an open record store to share, for tests
    and for the demo; else one is opened from ``settings.records``)."""
    from commissioning.web import oidc
    from commissioning.web.api import api
    from commissioning.web.pages import router

    app = FastAPI(
        title="Commissioning workbench",
        version="1",
        description="Contracts, settlement, analyses and data for commissioners, finance, "
        "providers and the public, each seeing only what their role allows.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = Services(settings, store)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("commissioning.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.state.templates = Jinja2Templates(env=env)
    app.mount(
        "/static",
        StaticFiles(packages=[("commissioning.web", "static")]),
        name="static",
    )
    app.include_router(router)
    app.include_router(api)
    app.include_router(oidc.router)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return _refusal(request, exc.status, exc.message)

    @app.exception_handler(OperationError)
    async def operation_refused(request: Request, exc: OperationError) -> Response:
        return _refusal(request, 409, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.errors()}, status_code=422)
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors())
        return _refusal(request, 400, f"check what was entered: {fields}")

    @app.middleware("http")
    async def headers_and_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        path = request.url.path
        report = path.startswith("/analysis/reports/") and response.status_code == 200
        response.headers["Content-Security-Policy"] = REPORT_CSP if report else CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        who = getattr(request.state, "who", None)
        if who is not None:
            response.headers["Cache-Control"] = "no-store"
            if path not in ("/sign-in", "/sign-out") and not path.startswith("/static"):
                await run_in_threadpool(
                    app.state.services.accounts.log,
                    who,
                    request.method,
                    path,
                    category_of(request.method, path),
                    response.status_code,
                    "token" if getattr(request.state, "via_token", False) else "session",
                )
        return response

    return app


def _refusal(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status)
    if status == 401:
        return RedirectResponse("/sign-in", status_code=303)
    templates: Jinja2Templates = request.app.state.templates
    from commissioning.web.auth import principal

    try:
        who = principal(request)
    except Refused:
        who = None
    titles = {403: "Not allowed", 404: "Not found", 409: "Not done", 400: "Not done"}
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "who": who,
            "csrf": getattr(request.state, "csrf", None),
            "done": "",
            "oidc": None,
            "title": titles.get(status, "Error"),
            "message": message,
        },
        status_code=status,
    )


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the application answers, mounts as ``("MOUNT", path)``: what
    the access tests hold the application to."""
    from starlette.routing import Mount

    found: set[tuple[str, str]] = set()

    def walk(routes: list[object], prefix: str) -> None:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                context = getattr(route, "include_context", None)
                walk(list(original.routes), prefix + getattr(context, "prefix", ""))
            elif isinstance(route, Mount):
                found.add(("MOUNT", prefix + route.path))
            else:
                methods = getattr(route, "methods", None) or set()
                for method in set(methods) - {"HEAD"}:
                    found.add((method, prefix + str(getattr(route, "path", ""))))

    walk(list(app.routes), "")
    return found
