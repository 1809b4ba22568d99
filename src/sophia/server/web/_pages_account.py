"""First-run set-up, sign-in, sign-out and optional self sign-up."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from sophia.accounts import Budget, RateLimited, Role
from sophia.errors import AuthError, Conflict, InvalidInput, NotFound, SophiaError
from sophia.server.web._guard import SESSION_COOKIE, check_anon_csrf, client_ip, session_of, signed_in
from sophia.server.web._render import render, secure_cookies
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import WebState, web_state

router = APIRouter(tags=["web"], include_in_schema=False)
AnyUser = signed_in()
MIN_PASSWORD = 10
SIGNUPS = Budget("signup", 10)  # per address; fixed
Text = Annotated[str, Form(max_length=1000)]


def _safe_next(target: str | None) -> str:
    """Only a local path, so a crafted link cannot bounce a fresh sign-in to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/chat"
    return target


async def _has_users(web: WebState) -> bool:
    if not web.has_users:
        web.has_users = bool(await web.services.accounts.list_users())
    return web.has_users


def _signed_in_response(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    max_age = int(web_state(request).options.session_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure_cookies(request)
    )
    return response


def _check_password(password: str, repeat: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: use at least {MIN_PASSWORD} characters")
    if password != repeat:
        raise InvalidInput("password: the two passwords differ; type the same one twice")


@router.get("/")
async def home(request: Request) -> Response:
    if not await _has_users(web_state(request)):
        return RedirectResponse("/setup", status_code=303)
    return RedirectResponse("/chat" if await session_of(request) else "/login", status_code=303)


@router.get("/setup")
async def setup_page(request: Request) -> Response:
    if await _has_users(web_state(request)):
        return RedirectResponse("/login", status_code=303)
    return render(request, "setup.html")


@router.post("/setup", dependencies=[Depends(check_anon_csrf)])
async def setup(request: Request, name: Text, password: Text, repeat: Text, email: Text = "") -> Response:
    web = web_state(request)
    async with web.setup_lock:
        if await _has_users(web):
            raise Conflict("Sophia is already set up; sign in instead")
        try:
            _check_password(password, repeat)
            user = await web.services.accounts.create_user(name, Role.ADMIN, email or None, password)
        except SophiaError as error:
            return render(request, "setup.html", status=error.http_status, error=error.message, name=name)
        web.has_users = True
    token = await web.sessions.create(user.id, client_ip(request), request.headers.get("user-agent"))
    return _signed_in_response(request, token, "/chat")


@router.get("/login")
async def login_page(request: Request, next: str = "/chat") -> Response:
    web = web_state(request)
    if not await _has_users(web):
        return RedirectResponse("/setup", status_code=303)
    if await session_of(request):
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), signup=web.options.allow_signup)


@router.post("/login", dependencies=[Depends(check_anon_csrf)])
async def login(request: Request, name: Text, password: Text, next: Text = "/chat") -> Response:
    web = web_state(request)
    ip = client_ip(request)
    context = {"next": _safe_next(next), "signup": web.options.allow_signup, "name": name}
    try:
        await web.throttle.check(name, ip)
        principal = await web.services.accounts.verify_password(name, password)
    except RateLimited as error:
        response = render(request, "login.html", status=429, error=error.message, **context)
        response.headers["retry-after"] = str(max(1, round(error.retry_after)))
        return response
    except AuthError as error:
        await web.throttle.failed(name, ip)
        return render(request, "login.html", status=401, error=error.message, **context)
    if principal.role is Role.PENDING:
        return render(
            request,
            "login.html",
            status=403,
            error="your account is waiting for an admin's approval",
            **context,
        )
    await web.throttle.succeeded(name, ip)
    token = await web.sessions.create(principal.user_id, ip, request.headers.get("user-agent"))
    return _signed_in_response(request, token, _safe_next(next))


@router.post("/logout")
async def logout(request: Request, me: WebSession = AnyUser) -> Response:
    await web_state(request).sessions.revoke(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure_cookies(request))
    return response


@router.get("/signup")
async def signup_page(request: Request) -> Response:
    if not web_state(request).options.allow_signup:
        raise NotFound("sign-up is off; ask an admin for an account")
    return render(request, "signup.html")


@router.post("/signup", dependencies=[Depends(check_anon_csrf)])
async def signup(request: Request, name: Text, password: Text, repeat: Text, email: Text = "") -> Response:
    web = web_state(request)
    if not web.options.allow_signup:
        raise NotFound("sign-up is off; ask an admin for an account")
    await web.limiter.check(SIGNUPS, client_ip(request))
    try:
        _check_password(password, repeat)
        await web.services.accounts.create_user(name, Role.PENDING, email or None, password)
    except SophiaError as error:
        return render(request, "signup.html", status=error.http_status, error=error.message, name=name)
    return render(request, "signup.html", done=True)
