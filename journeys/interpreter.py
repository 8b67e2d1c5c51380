"""The journey interpreter: a pure `advance(journey, state, input, ctx) -> Result`.

It reads no clock, store or network: everything comes in through `Context` and goes out
as replies and effects, which the engine applies. Interactive steps (ask, choose,
confirm) stop and wait for input; the others run straight through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from jinja2 import TemplateError, UndefinedError

from bot.base.buttons import JOURNEY, MENU, SERVICE, button
from bot.base.messages import Choice, Message
from bot.base.texts import trusted
from bot.base.timefmt import describe_duration
from journeys import answers as ans
from journeys.kb import Article, to_markup
from journeys.model import (
    ApproveStep,
    AskStep,
    CheckStep,
    ChooseStep,
    ConfirmStep,
    Journey,
    SayStep,
    SuggestStep,
    TicketStep,
    asks,
)
from journeys.state import (
    Audit,
    Context,
    CreateTicket,
    Decision,
    Ended,
    Handoff,
    Input,
    JourneyState,
    Press,
    RequestApproval,
    Result,
    Start,
    Text,
)

END = "end"
CONTROL = "_"
STAFF_LANGUAGE = "en"  # ticket summaries and descriptions are written for IT staff


class JourneyError(Exception):
    """A definition problem found while running (the loader should have caught it)."""


# ---- helpers ------------------------------------------------------------------------------


def _t(ctx: Context, key: str, **params: Any) -> str:
    return ctx.texts.render(ctx.language, key, **params)


def render_local(ctx: Context, state: JourneyState, source: str) -> str:
    """Render one language's template of a step's text with the journey variables."""
    return ctx.texts.compile(source).render(**ctx.variables(state)).strip()


def condition(ctx: Context, state: JourneyState, expression: str | None) -> bool:
    """Evaluate a sandboxed jinja expression; an undefined name counts as false."""
    if expression is None:
        return True
    try:
        return bool(ctx.texts.expression(expression)(**ctx.variables(state)))
    except UndefinedError:
        return False
    except TemplateError as exc:
        raise JourneyError(f"condition '{expression}' failed: {exc}") from exc


def _today(ctx: Context) -> date:
    if ctx.today is not None:
        return ctx.today
    raise JourneyError("context has no date")


def progress(journey: Journey, state: JourneyState, ctx: Context) -> str:
    """'Step 2 of 4 · usually done within 1 business day'."""
    done = sum(1 for sid in state.history if asks(journey.step(sid)))
    remaining = 0
    start = journey.index(state.step) if state.step else len(journey.steps)
    for step in journey.steps[start:]:
        if asks(step) and condition_or_unknown(ctx, state, step.when):
            remaining += 1
        if step.type == "ticket":
            break
    current = done + 1
    return ctx.texts.plain(
        ctx.language,
        "journey.progress",
        current=current,
        total=max(current, done + remaining),
        expected=ctx.expected_text,
    )


def condition_or_unknown(ctx: Context, state: JourneyState, expression: str | None) -> bool:
    """Like `condition`, but a condition on unanswered questions counts as true."""
    if expression is None:
        return True
    try:
        return bool(ctx.texts.expression(expression)(**ctx.variables(state)))
    except UndefinedError:
        return True


# ---- prompts ------------------------------------------------------------------------------


def _prompt(journey: Journey, step: Any, state: JourneyState, ctx: Context) -> Message:
    if isinstance(step, SuggestStep):  # its `prompt` introduces the article, not a question
        return _suggest_question(journey, step, state, ctx)
    text = render_local(ctx, state, step.prompt.get(ctx.language))
    choices: tuple[Choice, ...] = ()
    if isinstance(step, ChooseStep):
        choices = tuple(
            Choice(
                label=render_local(ctx, state, o.label.get(ctx.language)),
                value=button(JOURNEY, step.id, o.value),
            )
            for o in step.options
        )
    elif isinstance(step, ConfirmStep):
        choices = (
            Choice(
                ctx.texts.plain(ctx.language, "button.yes"),
                button(JOURNEY, step.id, "yes"),
                "primary",
            ),
            Choice(ctx.texts.plain(ctx.language, "button.no"), button(JOURNEY, step.id, "no")),
        )
    select = len(choices) > 5
    offered = pending_suggestion(journey, state)
    if offered is not None:
        fixed = ctx.texts.plain(ctx.language, "suggest.fixed_inline")
        choices = (*choices, Choice(fixed, button(JOURNEY, offered.id, "yes")))
    return Message(
        text=text,
        choices=choices,
        progress=progress(journey, state, ctx),
        select_label=ctx.texts.plain(ctx.language, "button.select") if select else None,
    )


def pending_suggestion(journey: Journey, state: JourneyState) -> SuggestStep | None:
    """The inline suggestion shown just before the current question, if any."""
    if not state.history:
        return None
    last = journey.step(state.history[-1])
    return last if isinstance(last, SuggestStep) and last.inline else None


def articles_for(
    journey: Journey, step: SuggestStep, state: JourneyState, ctx: Context
) -> list[Article]:
    """The articles a suggest step shows now (none: the step is skipped)."""
    kb = ctx.kb
    if kb is None:
        return []
    candidates = step.articles or [a.id for a in kb.for_service(journey.id, ctx.language)]
    # Articles made from resolutions (known errors) come after the step's own ones.
    candidates = [*candidates, *(k for k in kb.known_errors(journey.id) if k not in candidates)]
    seen = ctx.seen_articles | set(state.seen_articles)
    candidates = [c for c in candidates if c not in seen]
    if step.search:
        query = ctx.texts.render_text(step.search, **ctx.variables(state))
        hits = kb.search(query, ctx.language, among=candidates, limit=step.limit)
        found = [h.article for h in hits]
    else:
        found = [a for a in (kb.get(c, ctx.language) for c in candidates) if a is not None]
    return found[: step.limit]


def article_message(ctx: Context, article: Article, intro: str = "") -> Message:
    """One article as a chat message: an optional intro, the title, the text."""
    return Message(
        text=_t(
            ctx,
            "kb.article",
            intro=trusted(intro) if intro else "",
            title=article.title,
            body=trusted(to_markup(article.body)),
        )
    )


def _suggest_question(
    journey: Journey, step: SuggestStep, state: JourneyState, ctx: Context
) -> Message:
    shown = articles_for(journey, step, state, ctx)
    text = (
        render_local(ctx, state, step.question.get(ctx.language))
        if step.question
        else _t(ctx, "suggest.question")
    )
    choices = [
        Choice(
            ctx.texts.plain(ctx.language, "suggest.fixed"),
            button(JOURNEY, step.id, "yes"),
            "primary",
        ),
        Choice(ctx.texts.plain(ctx.language, "suggest.not_fixed"), button(JOURNEY, step.id, "no")),
    ]
    for i, article in enumerate(shown[1:], start=1):
        label = ctx.texts.plain(ctx.language, "suggest.more", title=article.title)
        choices.append(Choice(label[:75], button(JOURNEY, step.id, "more", i)))
    return Message(text=text, choices=tuple(choices), progress=progress(journey, state, ctx))


def _suggest_messages(
    journey: Journey, step: SuggestStep, state: JourneyState, ctx: Context
) -> list[Message]:
    shown = articles_for(journey, step, state, ctx)
    intro = (
        render_local(ctx, state, step.prompt.get(ctx.language))
        if step.prompt
        else _t(ctx, "suggest.intro")
    )
    return [article_message(ctx, shown[0], intro), _suggest_question(journey, step, state, ctx)]


def _help(step: Any, state: JourneyState, ctx: Context) -> str:
    if getattr(step, "hint", None) is not None:
        specific = render_local(ctx, state, step.hint.get(ctx.language))
    else:
        kind = step.validate_.kind if isinstance(step, AskStep) else step.type
        specific = _t(ctx, f"help.{kind}")
    return _t(ctx, "help.step", specific=specific)


# ---- moving between steps -----------------------------------------------------------------


def _after(journey: Journey, step: Any, state: JourneyState, ctx: Context) -> str | None:
    """The id of the step after `step` (None = end of the journey)."""
    if isinstance(step.goto, str):
        return None if step.goto == END else step.goto
    if isinstance(step.goto, list):
        for rule in step.goto:
            if condition(ctx, state, rule.when):
                return None if rule.to == END else rule.to
    index = journey.index(step.id) + 1
    return journey.steps[index].id if index < len(journey.steps) else None


def _run_from(
    journey: Journey, step_id: str | None, result: Result, ctx: Context, *, request: str = ""
) -> Result:
    """Run non-interactive steps from `step_id` until one waits for input or the journey ends.

    `request` is the text that started the journey: until the first question is asked, a
    choice it clearly names is answered from it (and said so, so `back` can change it).
    """
    state = result.state
    guard = 0
    while step_id is not None:
        guard += 1
        if guard > 200:
            raise JourneyError(f"{journey.id}: goto loop without a question in between")
        step = journey.step(step_id)
        if not condition(ctx, state, step.when):
            index = journey.index(step.id) + 1
            step_id = journey.steps[index].id if index < len(journey.steps) else None
            continue
        handler = AUTO.get(step.type)
        if isinstance(step, SuggestStep):
            if not articles_for(journey, step, state, ctx):  # nothing (new) to offer
                step_id = _after(journey, step, state, ctx)
                continue
            if step.inline:  # the article, then straight on to the next question
                result.replies.append(_suggest_messages(journey, step, state, ctx)[0])
                state.history.append(step.id)
                step_id = _after(journey, step, state, ctx)
                continue
            state.step = step.id
            state.failures = 0
            result.replies += _suggest_messages(journey, step, state, ctx)
            return result
        if handler is None and request and isinstance(step, ChooseStep):
            named = ans.option_named_in(step.options, request)
            if named is not None:
                _record_answer(step, named.value, state, ctx)
                label = state.labels[step.id].get(ctx.language, named.value)
                result.replies.append(Message(text=_t(ctx, "journey.prefilled", answer=label)))
                step_id = _after(journey, step, state, ctx)
                continue
        if handler is None:  # interactive: ask and wait
            state.step = step.id
            state.failures = 0
            result.replies.append(_prompt(journey, step, state, ctx))
            return result
        step_id = handler(journey, step, result, ctx)
        state = result.state
        if state.finished or state.status == "waiting":
            return result
    state.step = None
    state.status = "done"
    # A ticket may have been raised in an earlier turn (before an approval).
    ticketed = any(journey.step(sid).type == "ticket" for sid in state.history)
    outcome = "ticket" if ticketed else "completed"
    result.add(Ended(journey.id, outcome))
    return result


def _say(journey: Journey, step: SayStep, result: Result, ctx: Context) -> str | None:
    result.replies.append(
        Message(text=render_local(ctx, result.state, step.text.get(ctx.language)))
    )
    return _after(journey, step, result.state, ctx)


def _check(journey: Journey, step: CheckStep, result: Result, ctx: Context) -> str | None:
    """Pass: continue. Fail: say why and what to do instead, record it, end (or reroute)."""
    state = result.state
    passed = condition(ctx, state, step.rule)
    state.answers[step.id] = passed
    state.history.append(step.id)
    if passed:
        return _after(journey, step, state, ctx)
    variables = ctx.variables(state, STAFF_LANGUAGE)
    reason = render_local(ctx, state, step.reason.get(ctx.language))
    instead = render_local(ctx, state, step.instead.get(ctx.language)) if step.instead else ""
    result.add(
        Audit(
            kind="eligibility_refused" if step.otherwise is None else "eligibility_failed",
            note=ctx.texts.render_text(step.reason.get("en"), **variables),
            data={
                "step": step.id,
                "rule": step.rule,
                "answers": dict(state.answers),
                "requester": {
                    k: ctx.requester.get(k) for k in ("id", "title", "department", "role")
                },
                "devices": {
                    kind: {"model": d.get("model"), "age_months": d.get("age_months")}
                    for kind, d in variables["devices"].items()
                },
            },
        )
    )
    if step.otherwise is not None:
        result.replies.append(
            Message(
                text=_t(ctx, "check.rerouted", reason=trusted(reason), instead=trusted(instead))
            )
        )
        return None if step.otherwise == END else step.otherwise
    choices = [
        Choice(ctx.service_titles.get(sid, sid), button(SERVICE, sid)) for sid in step.alternatives
    ]
    choices.append(Choice(ctx.texts.plain(ctx.language, "button.human"), button(MENU, "human")))
    result.replies.append(
        Message(
            text=_t(
                ctx,
                "check.refused",
                title=journey.title.get(ctx.language),
                reason=trusted(reason),
                instead=trusted(instead),
            ),
            choices=tuple(choices),
        )
    )
    state.status = "done"
    state.step = None
    result.add(Ended(journey.id, "refused"))
    return None


def _stages_after(
    journey: Journey, step_id: str | None, state: JourneyState, ctx: Context
) -> list[str]:
    """The approvals still ahead after a ticket, as the requester reads them."""
    stages: list[str] = []
    guard = 0
    while step_id is not None and guard < len(journey.steps) + 1:
        guard += 1
        step = journey.step(step_id)
        if isinstance(step, ApproveStep) and condition_or_unknown(ctx, state, step.when):
            if step.label is not None:
                who = render_local(ctx, state, step.label.get(ctx.language))
            elif step.approver == "manager":
                who = _t(ctx, "path.manager")
            else:
                who = _t(ctx, "path.group", group=(step.group or "").replace("_", " "))
            within = (
                describe_duration(ctx.texts, ctx.language, step.expected) if step.expected else ""
            )
            stages.append(_t(ctx, "path.approval", who=trusted(who), within=within))
        if not condition(ctx, state, step.when):
            index = journey.index(step.id) + 1
            step_id = journey.steps[index].id if index < len(journey.steps) else None
        else:
            step_id = _after(journey, step, state, ctx)
    return stages


def next_text(journey: Journey, step: TicketStep, state: JourneyState, ctx: Context) -> str | None:
    """'Next: manager approval, usually within 4 h; then IT delivers within 2 business days'."""
    what = render_local(ctx, state, step.next.get(ctx.language)) if step.next else ""
    what = what.rstrip().rstrip(".。!！")  # the path template adds the full stop
    stages = _stages_after(journey, _after(journey, step, state, ctx), state, ctx)
    if not stages and not step.expected and not what:
        return None
    return _t(
        ctx,
        "path.full",
        stages=[trusted(s) for s in stages],
        what=trusted(what) if what else _t(ctx, "path.it_delivers"),
        within=describe_duration(ctx.texts, ctx.language, step.expected) if step.expected else "",
    )


def _level(ctx: Context, state: JourneyState, source: str) -> str:
    if source in ("high", "medium", "low"):
        return source
    try:
        value = str(ctx.texts.expression(source)(**ctx.variables(state)))
    except UndefinedError:
        return "medium"
    return value if value in ("high", "medium", "low") else "medium"


def _ticket(journey: Journey, step: TicketStep, result: Result, ctx: Context) -> str | None:
    state = result.state
    variables = ctx.variables(state, STAFF_LANGUAGE)
    title = ctx.texts.render_text(step.summary, **variables)
    description = ctx.texts.render_text(step.description, **variables) if step.description else ""
    priority = step.priority or ctx.priority_matrix.get(_level(ctx, state, step.impact), {}).get(
        _level(ctx, state, step.urgency), "P3"
    )
    result.add(
        CreateTicket(
            service_id=journey.id,
            ticket_type=step.ticket_type or journey.type,
            title=title[:300],
            description=description,
            priority=priority,
            queue=step.queue or journey.queue,
            answers=dict(state.answers),
            next_text=next_text(journey, step, state, ctx),
        )
    )
    state.history.append(step.id)
    nxt = _after(journey, step, state, ctx)
    if nxt is None:
        state.step = None
        state.status = "done"
        result.add(Ended(journey.id, "ticket"))
    return nxt


def _approve(journey: Journey, step: ApproveStep, result: Result, ctx: Context) -> str | None:
    state = result.state
    summary = ctx.texts.render_text(step.summary, **ctx.variables(state, STAFF_LANGUAGE))
    result.add(
        RequestApproval(
            service_id=journey.id,
            step=step.id,
            approver=step.approver,
            group=step.group,
            summary=summary[:500],
            answers=dict(state.answers),
        )
    )
    if step.waiting is not None:
        result.replies.append(
            Message(text=render_local(ctx, state, step.waiting.get(ctx.language)))
        )
    state.step = step.id
    state.status = "waiting"
    return None


def _decided(
    journey: Journey, state: JourneyState, event: Decision, result: Result, ctx: Context
) -> Result:
    step = journey.step(state.step or "")
    assert isinstance(step, ApproveStep)
    state.status = "active"
    state.answers[step.id] = {"approved": event.approved, "by": event.by, "reason": event.reason}
    state.history.append(step.id)
    variables = {**ctx.variables(state), "decision": state.answers[step.id]}
    if event.approved:
        source = step.approved.get(ctx.language) if step.approved else None
        text = (
            ctx.texts.compile(source).render(**variables).strip()
            if source
            else _t(ctx, "journey.approved", by=event.by)
        )
        result.replies.append(Message(text=text))
        return _run_from(journey, _after(journey, step, state, ctx), result, ctx)
    source = step.rejected.get(ctx.language) if step.rejected else None
    text = (
        ctx.texts.compile(source).render(**variables).strip()
        if source
        else _t(ctx, "journey.rejected", by=event.by, reason=event.reason)
    )
    result.replies.append(Message(text=text))
    state.status = "done"
    state.step = None
    result.add(Ended(journey.id, "rejected"))
    return result


AutoHandler = Callable[[Journey, Any, Result, Context], str | None]
AUTO: dict[str, AutoHandler] = {
    "say": _say,
    "check": _check,
    "ticket": _ticket,
    "approve": _approve,
}


# ---- receiving answers --------------------------------------------------------------------


def _receive(step: Any, event: Text | Press, ctx: Context, state: JourneyState) -> Any:
    """Return the answer value, or an `Invalid` explaining why the input does not fit."""
    if isinstance(event, Press):
        if event.step != step.id:
            return ans.Invalid("invalid.stale_button", {})
        if isinstance(step, ConfirmStep | SuggestStep) and event.value in ("yes", "no"):
            return event.value == "yes"
        if isinstance(step, ChooseStep):
            for option in step.options:
                if option.value == event.value:
                    return option.value
        return ans.Invalid("invalid.stale_button", {})
    text = event.text
    if isinstance(step, ConfirmStep | SuggestStep):
        said = ans.yes_no(ctx.texts, ctx.language, text)
        return ans.Invalid("invalid.yes_no", {}) if said is None else said
    if isinstance(step, ChooseStep):
        picked = ans.match_option(step.options, text, ctx.language)
        if picked is None:
            return ans.Invalid("invalid.option", {})
        return picked.value
    if isinstance(step, AskStep):
        return ans.validate(step.validate_, text, ctx.texts, ctx.language, _today(ctx))
    raise JourneyError(f"step type {step.type} takes no input")


def _refuse(
    journey: Journey, step: Any, invalid: ans.Invalid, result: Result, ctx: Context
) -> Result:
    state = result.state
    state.failures += 1
    if state.failures >= ctx.max_failures:
        result.replies.append(
            Message(
                text=_t(ctx, "journey.struggling"),
                choices=(
                    Choice(
                        ctx.texts.plain(ctx.language, "button.human"),
                        button(JOURNEY, CONTROL, "human"),
                        "primary",
                    ),
                    Choice(
                        ctx.texts.plain(ctx.language, "button.retry"),
                        button(JOURNEY, CONTROL, "retry"),
                    ),
                    Choice(
                        ctx.texts.plain(ctx.language, "button.cancel"),
                        button(JOURNEY, CONTROL, "cancel"),
                    ),
                ),
            )
        )
        return result
    why = _t(ctx, invalid.key, **invalid.params)
    prompt = _prompt(journey, step, state, ctx)
    result.replies.append(
        replace(prompt, text=f"{why}\n{_help(step, state, ctx)}\n\n{prompt.text}")
    )
    return result


def _control(journey: Journey, word: str, result: Result, ctx: Context) -> Result:
    state = result.state
    step = journey.step(state.step) if state.step else None
    if word == "cancel":
        state.status = "cancelled"
        state.step = None
        result.replies.append(
            Message(text=_t(ctx, "journey.cancelled", title=journey.title.get(ctx.language)))
        )
        result.add(Ended(journey.id, "cancelled"))
    elif word == "human":
        state.status = "done"
        result.add(Handoff(journey.id, state.step, dict(state.answers), "asked"))
        result.add(Ended(journey.id, "handoff"))
        state.step = None
    elif word == "back":
        previous = [sid for sid in state.history if asks(journey.step(sid))]
        if not previous:
            result.replies.append(Message(text=_t(ctx, "journey.nothing_to_go_back_to")))
            if step is not None:
                result.replies.append(_prompt(journey, step, state, ctx))
            return result
        target = previous[-1]
        cut = len(state.history) - 1 - state.history[::-1].index(target)
        for sid in state.history[cut:]:
            state.answers.pop(sid, None)
            state.labels.pop(sid, None)
        state.history = state.history[:cut]
        state.step = target
        state.failures = 0
        result.replies.append(Message(text=_t(ctx, "journey.going_back")))
        result.replies.append(_prompt(journey, journey.step(target), state, ctx))
    elif word == "help" and step is not None:
        result.replies.append(Message(text=_help(step, state, ctx)))
        result.replies.append(_prompt(journey, step, state, ctx))
    elif word == "status" and step is not None:
        result.replies.append(
            Message(
                text=_t(
                    ctx,
                    "journey.status",
                    title=journey.title.get(ctx.language),
                    progress=progress(journey, state, ctx),
                )
            )
        )
        result.replies.append(_prompt(journey, step, state, ctx))
    elif word in ("retry", "skip") and step is not None:
        if word == "skip" and isinstance(step, AskStep) and step.optional:
            state.answers[step.id] = None
            state.history.append(step.id)
            return _run_from(journey, _after(journey, step, state, ctx), result, ctx)
        state.failures = 0
        result.replies.append(_prompt(journey, step, state, ctx))
    return result


def _more(journey: Journey, step: SuggestStep, value: str, result: Result, ctx: Context) -> Result:
    """Show another of the suggested articles, then ask again whether it helped."""
    shown = articles_for(journey, step, result.state, ctx)
    index = value.partition(":")[2]
    if index.isascii() and index.isdigit() and 0 < int(index) < len(shown):  # not "²"
        result.replies.append(article_message(ctx, shown[int(index)]))
        result.replies.append(_suggest_question(journey, step, result.state, ctx))
        return result
    return _refuse(journey, step, ans.Invalid("invalid.stale_button", {}), result, ctx)


def _solved(event: Input, offered: SuggestStep, ctx: Context) -> bool:
    """'That fixed it' pressed, or typed ("fixed", "解决了"), after an inline suggestion."""
    if isinstance(event, Press):
        return event.step == offered.id and event.value == "yes"
    if isinstance(event, Text):
        said = ans.normalise(event.text)
        return said in (
            ans.normalise(w) for w in ctx.texts.words(ctx.language, "suggest.solved_words")
        )
    return False


def _self_solved(journey: Journey, step: SuggestStep, result: Result, ctx: Context) -> Result:
    state = result.state
    state.answers[step.id] = True
    state.history.append(step.id)
    state.status = "done"
    state.step = None
    result.replies.append(
        Message(text=_t(ctx, "suggest.solved", title=journey.title.get(ctx.language)))
    )
    result.add(Ended(journey.id, "self_solved"))
    return result


def accepts(journey: Journey, state: JourneyState, text: str, ctx: Context) -> bool:
    """Whether `text` would be taken as the answer to the current step (no side effects)."""
    if state.step is None or state.finished or state.status == "waiting":
        return False
    step = journey.step(state.step)
    if not asks(step):
        return False
    return not isinstance(_receive(step, Text(text), ctx, state), ans.Invalid)


# ---- entry point --------------------------------------------------------------------------


def advance(journey: Journey, state: JourneyState | None, event: Input, ctx: Context) -> Result:
    """Apply one input to a journey and return the new state, replies and effects."""
    if isinstance(event, Start) or state is None:
        fresh = JourneyState(
            service_id=journey.id,
            language=ctx.language,
            started_at=ctx.now.isoformat() if ctx.now else "",
        )
        fresh.answers.update(event.answers if isinstance(event, Start) else {})
        fresh.seen_articles = sorted(ctx.seen_articles)
        request = event.text if isinstance(event, Start) else ""
        return _run_from(journey, journey.steps[0].id, Result(fresh), ctx, request=request)
    state = JourneyState.from_dict(state.to_dict())  # never mutate the caller's state
    result = Result(state)
    if isinstance(event, Decision):
        if state.status == "waiting" and state.step == event.step:
            return _decided(journey, state, event, result, ctx)
        return result
    if state.finished or state.step is None or state.status == "waiting":
        return result
    step = journey.step(state.step)
    if isinstance(event, Press) and event.step == CONTROL:
        return _control(journey, event.value, result, ctx)
    if isinstance(event, Text):
        word = ans.control_word(ctx.texts, ctx.language, event.text)
        if word is not None:
            return _control(journey, word, result, ctx)
    offered = pending_suggestion(journey, state)
    if offered is not None and _solved(event, offered, ctx):
        return _self_solved(journey, offered, result, ctx)
    if isinstance(step, SuggestStep) and isinstance(event, Press):
        if event.step == step.id and event.value.startswith("more:"):
            return _more(journey, step, event.value, result, ctx)
    value = _receive(step, event, ctx, state)
    if isinstance(value, ans.Invalid):
        return _refuse(journey, step, value, result, ctx)
    if isinstance(step, SuggestStep) and value is True:
        return _self_solved(journey, step, result, ctx)
    _record_answer(step, value, state, ctx)
    return _run_from(journey, _after(journey, step, state, ctx), result, ctx)


def _record_answer(step: Any, value: Any, state: JourneyState, ctx: Context) -> None:
    state.answers[step.id] = value
    if isinstance(step, ChooseStep):
        chosen = next(o for o in step.options if o.value == value)
        state.labels[step.id] = {
            lang: render_local(ctx, state, text) for lang, text in chosen.label.root.items()
        }
    state.history.append(step.id)
    state.failures = 0
