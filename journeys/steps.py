"""What each kind of step does: the ones that run straight through (say, check, ticket,
approve) and how an interactive step (ask, choose, confirm, suggest) takes an answer."""

from __future__ import annotations

from jinja2 import UndefinedError

from bot.base.buttons import MENU, SERVICE, button
from bot.base.messages import Choice, Message
from bot.base.texts import trusted
from journeys import answers as ans
from journeys.flow import (
    END,
    STAFF_LANGUAGE,
    after,
    condition,
    render_local,
    text_for,
    today,
)
from journeys.model import (
    ApproveStep,
    Automatic,
    CheckStep,
    ChooseStep,
    ConfirmStep,
    Interactive,
    Journey,
    SayStep,
    SuggestStep,
    TicketStep,
)
from journeys.prompts import next_text
from journeys.state import (
    Audit,
    Context,
    CreateTicket,
    Ended,
    JourneyState,
    Press,
    RequestApproval,
    Result,
    Text,
)


def say(journey: Journey, step: SayStep, result: Result, ctx: Context) -> str | None:
    result.replies.append(
        Message(text=render_local(ctx, result.state, step.text.get(ctx.language)))
    )
    return after(journey, step, result.state, ctx)


def check(journey: Journey, step: CheckStep, result: Result, ctx: Context) -> str | None:
    """Pass: continue. Fail: say why and what to do instead, record it, end (or reroute)."""
    state = result.state
    passed = condition(ctx, state, step.rule)
    state.answers[step.id] = passed
    state.history.append(step.id)
    if passed:
        return after(journey, step, state, ctx)
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
                text=text_for(
                    ctx, "check.rerouted", reason=trusted(reason), instead=trusted(instead)
                )
            )
        )
        return None if step.otherwise == END else step.otherwise
    choices = [
        Choice(ctx.service_titles.get(sid, sid), button(SERVICE, sid)) for sid in step.alternatives
    ]
    choices.append(Choice(ctx.texts.plain(ctx.language, "button.human"), button(MENU, "human")))
    result.replies.append(
        Message(
            text=text_for(
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


def level(ctx: Context, state: JourneyState, source: str) -> str:
    if source in ("high", "medium", "low"):
        return source
    try:
        value = str(ctx.texts.expression(source)(**ctx.variables(state)))
    except UndefinedError:
        return "medium"
    return value if value in ("high", "medium", "low") else "medium"


def ticket(journey: Journey, step: TicketStep, result: Result, ctx: Context) -> str | None:
    state = result.state
    variables = ctx.variables(state, STAFF_LANGUAGE)
    title = ctx.texts.render_text(step.summary, **variables)
    description = ctx.texts.render_text(step.description, **variables) if step.description else ""
    priority = step.priority or ctx.priority_matrix.get(level(ctx, state, step.impact), {}).get(
        level(ctx, state, step.urgency), "P3"
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
            change=(
                {name: state.answers.get(sid) for name, sid in step.change if sid is not None}
                if step.change is not None
                else None
            ),
        )
    )
    state.history.append(step.id)
    nxt = after(journey, step, state, ctx)
    if nxt is None:
        state.step = None
        state.status = "done"
        result.add(Ended(journey.id, "ticket"))
    return nxt


def approve(journey: Journey, step: ApproveStep, result: Result, ctx: Context) -> str | None:
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


def run_automatic(journey: Journey, step: Automatic, result: Result, ctx: Context) -> str | None:
    """Run a step that needs no input; the id of the step after it (None: the end)."""
    if isinstance(step, SayStep):
        return say(journey, step, result, ctx)
    if isinstance(step, CheckStep):
        return check(journey, step, result, ctx)
    if isinstance(step, TicketStep):
        return ticket(journey, step, result, ctx)
    return approve(journey, step, result, ctx)


def receive(
    step: Interactive, event: Text | Press, ctx: Context, state: JourneyState
) -> ans.Answer | ans.Invalid:
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
        said = ans.yes_no_or_label(ctx.texts, ctx.language, text)
        if said is None and isinstance(step, SuggestStep):
            said = ans.solved_or_not(ctx.texts, text)
        return ans.Invalid("invalid.yes_no", {}) if said is None else said
    if isinstance(step, ChooseStep):
        picked = ans.match_option(step.options, text, ctx.language)
        if picked is None:
            return ans.Invalid("invalid.option", {})
        return picked.value
    return ans.validate(step.validate_, text, ctx.texts, ctx.language, today(ctx))


def record_answer(step: Interactive, value: ans.Answer, state: JourneyState, ctx: Context) -> None:
    state.answers[step.id] = value
    if isinstance(step, ChooseStep):
        chosen = next(o for o in step.options if o.value == value)
        state.labels[step.id] = {
            lang: render_local(ctx, state, text) for lang, text in chosen.label.root.items()
        }
    state.history.append(step.id)
    state.failures = 0
