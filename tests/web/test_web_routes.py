"""Route-level tests of the dashboard over the ASGI transport: auth on every route, CSRF, ownership, XSS, lockout."""

from __future__ import annotations

import re

import httpx
import pytest

from sophia.server.web import WebOptions
from tests.web.conftest import PASSWORD, WebStack, csrf_of

PAGES = [
    "/chat",
    "/chat/abc",
    "/memory",
    "/memory/abc",
    "/memory/graph",
    "/runs",
    "/runs/abc",
    "/usage",
    "/connectors",
    "/models",
    "/experiments",
    "/keys",
    "/admin/users",
    "/admin/audit",
]
FORMS = [
    "/logout",
    "/chat",
    "/chat/abc/messages",
    "/chat/abc/rename",
    "/chat/abc/delete",
    "/chat/abc/regenerate",
    "/chat/messages/1/stop",
    "/chat/messages/1/feedback",
    "/memory/abc/forget",
    "/runs",
    "/runs/abc/cancel",
    "/runs/abc/approvals/x/approve",
    "/runs/abc/approvals/x/deny",
    "/models/keys",
    "/connectors/notes/check",
    "/keys",
    "/keys/1/revoke",
    "/admin/users/1/role",
    "/admin/users/1/status",
]


async def _start_chat(client: httpx.AsyncClient, csrf: str, text: str) -> tuple[str, int]:
    """Create a conversation with one message; return its id and the pending answer's id."""
    response = await client.post("/chat", data={"csrf_token": csrf, "content": text, "model": "local"})
    assert response.status_code == 303
    cid = response.headers["location"].rsplit("/", 1)[1]
    page = await client.get(f"/chat/{cid}")
    mid = int(re.findall(r'id="m-(\d+)"', page.text)[-1])
    return cid, mid


@pytest.mark.parametrize("path", PAGES)
async def test_pages_send_a_visitor_without_a_session_to_sign_in(stack: WebStack, path: str) -> None:
    async with stack.client() as client:
        response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", FORMS)
async def test_forms_refuse_a_visitor_without_a_session(stack: WebStack, path: str) -> None:
    async with stack.client() as client:
        response = await client.post(path, data={"csrf_token": "x", "content": "hi", "title": "t"})
        htmx = await client.post(path, data={"csrf_token": "x"}, headers={"hx-request": "true"})
    assert response.status_code == 401
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/login")


@pytest.mark.parametrize("path", FORMS)
async def test_forms_refuse_a_missing_or_wrong_csrf_token(stack: WebStack, path: str) -> None:
    client, _ = await stack.signed_in("ada")
    async with client:
        missing = await client.post(path, data={"content": "hi"})
        wrong = await client.post(path, data={"content": "hi"}, headers={"x-csrf-token": "forged"})
    assert missing.status_code == 403 and "security token" in missing.text
    assert wrong.status_code == 403


async def test_sign_in_form_refuses_a_request_without_the_double_submit_token(stack: WebStack) -> None:
    async with stack.client() as client:
        response = await client.post("/login", data={"name": "ada", "password": PASSWORD})
    assert response.status_code == 403


async def test_chat_streams_tokens_then_records_model_tokens_and_cost(stack: WebStack) -> None:
    client, csrf = await stack.signed_in("mia")
    async with client:
        cid, mid = await _start_chat(client, csrf, "hello there")
        stream = await client.get(f"/chat/{cid}/messages/{mid}/stream")
        page = await client.get(f"/chat/{cid}")
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = re.findall(r"^event: (\w+)$", stream.text, re.M)
    assert events[0] == "meta" and events[-1] == "done" and events.count("token") >= 2
    assert "You said: hello there" in page.text
    assert 'class="chip">local<' in page.text and "tokens" in page.text


@pytest.mark.parametrize(
    ("user", "method", "path", "status"),
    [
        ("mia", "GET", "/admin/users", 403),
        ("mia", "GET", "/admin/audit", 403),
        ("mia", "POST", "/admin/users/1/role", 403),
        ("mia", "POST", "/models/keys", 403),
        ("vic", "GET", "/chat", 403),
        ("vic", "POST", "/chat", 403),
        ("vic", "GET", "/usage", 200),
        ("vic", "GET", "/models", 200),
    ],
)
async def test_roles_are_enforced_on_pages_and_forms(
    stack: WebStack, user: str, method: str, path: str, status: int
) -> None:
    client, csrf = await stack.signed_in(user)
    async with client:
        response = await client.request(
            method,
            path,
            data={"csrf_token": csrf, "role": "admin", "name": "x", "value": "y"}
            if method == "POST"
            else None,
        )
    assert response.status_code == status


async def test_a_script_tag_in_a_message_and_in_an_answer_renders_as_text(stack: WebStack) -> None:
    client, csrf = await stack.signed_in("mia")
    async with client:
        cid, mid = await _start_chat(client, csrf, "<script>alert('q')</script>")
        stream = await client.get(f"/chat/{cid}/messages/{mid}/stream")
        page = await client.get(f"/chat/{cid}")
    assert "<script>alert" not in stream.text and "<script>alert" not in page.text
    assert "You said: &lt;script&gt;alert(" in page.text  # the model's answer, as text
    assert '<div class="body plain">&lt;script&gt;alert(' in page.text  # the question, as text


async def test_sign_in_locks_out_after_repeated_failures_even_with_the_right_password(
    stack: WebStack,
) -> None:
    async with stack.client() as client:
        token = csrf_of((await client.get("/login")).text)
        wrong = [
            (
                await client.post("/login", data={"name": "mia", "password": "nope", "csrf_token": token})
            ).status_code
            for _ in range(3)
        ]
        locked = await client.post("/login", data={"name": "mia", "password": PASSWORD, "csrf_token": token})
    assert wrong == [401, 401, 401]
    assert locked.status_code == 429 and "retry-after" in locked.headers


async def test_sign_out_revokes_the_session_server_side(stack: WebStack) -> None:
    client, csrf = await stack.signed_in("mia")
    async with client:
        cookie = client.cookies.get("sophia_session")
        assert (await client.post("/logout", data={"csrf_token": csrf})).status_code == 303
    async with stack.client() as replay:
        replay.cookies.set("sophia_session", cookie or "")
        assert (await replay.get("/chat")).status_code == 303


async def test_first_run_setup_creates_the_admin_and_then_closes(empty_stack: WebStack) -> None:
    async with empty_stack.client() as client:
        assert (await client.get("/chat")).headers["location"].startswith("/login")
        assert (await client.get("/login")).headers["location"] == "/setup"
        token = csrf_of((await client.get("/setup")).text)
        form = {"name": "root", "password": PASSWORD, "repeat": PASSWORD, "csrf_token": token}
        created = await client.post("/setup", data=form)
        assert created.status_code == 303 and "httponly" in created.headers["set-cookie"].lower()
        assert (await client.get("/admin/users")).status_code == 200
        again = await client.post("/setup", data={**form, "name": "intruder"})
    assert again.status_code == 409
    assert [u.name for u in await empty_stack.services.accounts.list_users()] == ["root"]


@pytest.fixture
def web_options() -> WebOptions:
    return WebOptions(login_user_failures=3, allow_signup=True, requests_per_minute_key=5)


async def test_self_signup_waits_as_pending_until_an_admin_approves(stack: WebStack) -> None:
    async with stack.client() as client:
        token = csrf_of((await client.get("/signup")).text)
        form = {"name": "newbie", "password": PASSWORD, "repeat": PASSWORD, "csrf_token": token}
        assert (await client.post("/signup", data=form)).status_code == 200
        refused = await client.post(
            "/login", data={"name": "newbie", "password": PASSWORD, "csrf_token": token}
        )
    assert refused.status_code == 403 and "approval" in refused.text
    admin, csrf = await stack.signed_in("ada")
    newbie = await stack.services.accounts.get_user("newbie")
    async with admin:
        await admin.post(f"/admin/users/{newbie.id}/role", data={"csrf_token": csrf, "role": "member"})
    member, _ = await stack.signed_in("newbie")
    async with member:
        assert (await member.get("/chat")).status_code == 200
