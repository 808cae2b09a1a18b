"""The workbench on the agent desk: its page and its API, behind the desk's sign-in, CSRF and CSP.

Trainers, supervisors and admins may use it; agents may not.  Integration tokens
cannot (no token carries the ``workbench`` scope): trainers work signed in.  The API
lives under ``/workbench/api/``, apart from the integrations' ``/api/v1/`` (openapi.yaml).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.http import SESSION_COOKIE, Caller, api_route, body, page_csp, security_headers
from bot.agent_desk.pages import render
from bot.handoff.desk import Conflict, DeskError, Forbidden, NotFound
from bot.answers.edit import ReviewError
from bot.workbench import inbox
from bot.workbench.answers import SHOWN, NotOwner, texts_from

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp
    from bot.workbench.service import Workbench

ROLES = frozenset({"trainer", "supervisor", "admin"})
SCOPE = "workbench"


def _allowed(caller: Caller) -> None:
    if caller.actor.role not in ROLES:
        raise Forbidden("the workbench is for trainers")


def _int(args: Any, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(args.get(name, default))
    except (TypeError, ValueError):
        raise DeskError(f"{name} must be a number") from None
    if not low <= value <= high:
        raise DeskError(f"{name} must be between {low} and {high}")
    return value


def _entities(raw: Any) -> List[Tuple[int, int, str]]:
    if not isinstance(raw, list) or len(raw) > 20:
        raise DeskError("entities must be a list")
    out = []
    for item in raw:
        try:
            out.append((int(item["start"]), int(item["end"]), str(item["entity"])))
        except (KeyError, TypeError, ValueError):
            raise DeskError("each entity needs start, end and entity") from None
    return out


def register_workbench(bp: Blueprint, desk: "DeskApp", base: str, bench: "Workbench") -> None:
    """Add the workbench page and API to the desk's blueprint."""
    csp = page_csp(())
    route = api_route(desk, SCOPE)

    @bp.route("/workbench", methods=["GET"])
    async def workbench_page(request: Request) -> HTTPResponse:
        session = await desk.accounts.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return security_headers(response.redirect(f"{base}/login", status=303))
        if session.account.role not in ROLES:
            return security_headers(response.html("<p>Trainers only.</p>", status=403), csp=csp)
        text = render("workbench.html", base=base, csrf=session.csrf_token, name=session.account.display_name,
                      role=session.account.role)
        return security_headers(response.html(text), csp=csp)

    @bp.route("/workbench/api/inbox", methods=["GET"])
    @route
    async def inbox_groups(request: Request, caller: Caller) -> HTTPResponse:
        _allowed(caller)
        args = {k: request.args.get(k) for k in request.args}
        try:
            filters = inbox.Filters.parse(args)
        except inbox.BadFilter as exc:
            raise DeskError(str(exc)) from None
        offset = _int(request.args, "offset", 0, 0, 10**7)
        limit = _int(request.args, "limit", 50, 1, inbox.MAX_PAGE)
        return response.json(await bench.inbox(filters, offset, limit))

    @bp.route("/workbench/api/filters", methods=["GET"])
    @route
    async def filter_values(_request: Request, caller: Caller) -> HTTPResponse:
        _allowed(caller)
        return response.json(await bench.run(inbox.options, bench.engine))

    @bp.route("/workbench/api/groups/<group_id:int>/members", methods=["GET"])
    @route
    async def group_members(_request: Request, caller: Caller, group_id: int) -> HTTPResponse:
        _allowed(caller)
        return response.json({"members": await bench.run(inbox.members, bench.engine, group_id)})

    @bp.route("/workbench/api/messages/<message_id:int>/conversation", methods=["GET"])
    @route
    async def conversation(_request: Request, caller: Caller, message_id: int) -> HTTPResponse:
        _allowed(caller)
        return response.json({"turns": await bench.conversation(message_id)})

    @bp.route("/workbench/api/groups/<group_id:int>/label", methods=["POST"])
    @route
    async def label(request: Request, caller: Caller, group_id: int) -> HTTPResponse:
        _allowed(caller)
        data: Dict[str, Any] = body(request)
        entities = _entities(data.get("entities") or [])
        entity_message = data.get("message_id")
        try:
            outcome = await bench.run(bench.label, group_id, caller.actor.name, str(data.get("action") or "label"),
                                      data.get("intent"), entities,
                                      int(entity_message) if isinstance(entity_message, int) else None)
        except LookupError:
            raise NotFound("no open messages in this group") from None
        except ValueError as exc:
            raise DeskError(str(exc)) from None
        return response.json(outcome)

    @bp.route("/workbench/api/intents", methods=["GET"])
    @route
    async def intents(_request: Request, caller: Caller) -> HTTPResponse:
        _allowed(caller)
        return response.json({"intents": await bench.run(bench.data.intents)})

    @bp.route("/workbench/api/coverage", methods=["GET"])
    @route
    async def coverage(_request: Request, caller: Caller) -> HTTPResponse:
        _allowed(caller)
        run = bench.models.training
        accuracy = _accuracy(run.comparison) if run is not None and run.comparison else None
        return response.json(await bench.run(bench.coverage.table, accuracy))

    @bp.route("/workbench/api/audit", methods=["GET"])
    @route
    async def audit(_request: Request, caller: Caller) -> HTTPResponse:
        _allowed(caller)
        return response.json({"entries": await bench.run(bench.audit_trail)})

    @bp.route("/workbench/api/models", methods=["GET"])
    @route
    async def models(_request: Request, caller: Caller) -> HTTPResponse:
        _allowed(caller)
        return response.json(await bench.run(bench.models.status))

    @bp.route("/workbench/api/models/train", methods=["POST"])
    @route
    async def train(_request: Request, caller: Caller) -> HTTPResponse:
        _allowed(caller)
        try:
            run = bench.models.start_training(caller.actor.name)
        except RuntimeError as exc:
            raise Conflict(str(exc)) from None
        await bench.run(bench.audit, caller.actor.name, "train_started", detail={"model": run.name})
        return response.json(run.as_dict(), status=202)

    @bp.route("/workbench/api/models/activate", methods=["POST"])
    @route
    async def activate(request: Request, caller: Caller) -> HTTPResponse:
        _allowed(caller)
        name = str(body(request).get("model") or "")
        try:
            return response.json(await bench.models.activate(name, caller.actor.name))
        except FileNotFoundError:
            raise NotFound("no such model") from None

    register_answers(bp, route, bench)


def register_answers(bp: Blueprint, route: Any, bench: "Workbench") -> None:
    """The Answers tab: due/overdue answers, confirmed or edited side by side by their owner."""

    def email(caller: Caller) -> str:
        return caller.session.account.email if caller.session is not None else ""

    async def review(name: str, fn: Any, *args: Any) -> HTTPResponse:
        try:
            return response.json(await bench.run(fn, name, *args))
        except LookupError:
            raise NotFound("no such answer") from None
        except NotOwner as exc:
            raise Forbidden(f"only the owner, a supervisor or an admin may review it: {exc}") from None
        except ReviewError as exc:
            raise DeskError(str(exc)) from None

    @bp.route("/workbench/api/answers", methods=["GET"])
    @route
    async def answers(request: Request, caller: Caller) -> HTTPResponse:
        _allowed(caller)
        state = request.args.get("state") or None
        if state not in SHOWN:
            raise DeskError(f"state must be one of {', '.join(s for s in SHOWN if s)}")
        return response.json(await bench.run(bench.answers.listing, email(caller), caller.actor.role, state))

    @bp.route("/workbench/api/answers/flags", methods=["GET"])
    @route
    async def answer_flags(_request: Request, caller: Caller) -> HTTPResponse:
        """How many answers are overdue / due: the flag on the workbench and supervisor pages."""
        _allowed(caller)
        return response.json(await bench.run(bench.answers.counts))

    @bp.route("/workbench/api/answers/<name:str>/confirm", methods=["POST"])
    @route
    async def confirm_answer(_request: Request, caller: Caller, name: str) -> HTTPResponse:
        _allowed(caller)
        return await review(name, bench.answers.confirm, caller.actor.name, email(caller), caller.actor.role)

    @bp.route("/workbench/api/answers/<name:str>/edit", methods=["POST"])
    @route
    async def edit_answer(request: Request, caller: Caller, name: str) -> HTTPResponse:
        _allowed(caller)
        try:
            texts = texts_from(body(request).get("texts"))
        except ReviewError as exc:
            raise DeskError(str(exc)) from None
        return await review(name, bench.answers.edit, caller.actor.name, email(caller), caller.actor.role, texts)


def _accuracy(comparison: Dict[str, Any]) -> Dict[str, Dict[str, float]]:
    """intent -> {"candidate": accuracy} from the labelled set (the coverage view's accuracy)."""
    labelled = comparison.get("labelled") or {}
    return {row["name"]: {"active": row["active"], "candidate": row["candidate"], "n": row["n"]}
            for row in labelled.get("by_intent", [])}
