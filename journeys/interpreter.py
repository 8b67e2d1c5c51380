"""The journey interpreter: a pure `advance(journey, state, input, ctx) -> Result`.

It reads no clock, store or network: everything comes in through `Context` and goes out
as replies and effects, which the engine applies. Interactive steps (ask, choose,
confirm) stop and wait for input; the others run straight through.
"""

from __future__ import annotations

from bot.base.messages import Message
from journeys import answers as ans
from journeys.controls import Continue, control, more, refuse, self_solved, solved
from journeys.flow import CONTROL, JourneyError, after, condition, text_for
from journeys.model import (
    AUTOMATIC,
    ApproveStep,
    ChooseStep,
    Journey,
    SuggestStep,
    asks,
)
from journeys.prompts import articles_for, pending_suggestion, prompt, suggest_messages
from journeys.state import (
    Context,
    Decision,
    Ended,
    Input,
    JourneyState,
    Press,
    Result,
    Start,
    Text,
)
from journeys.steps import receive, record_answer, run_automatic


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
        if isinstance(step, SuggestStep):
            if not articles_for(journey, step, state, ctx):  # nothing (new) to offer
                step_id = after(journey, step, state, ctx)
                continue
            if step.inline:  # the article, then straight on to the next question
                result.replies.append(suggest_messages(journey, step, state, ctx)[0])
                state.history.append(step.id)
                step_id = after(journey, step, state, ctx)
                continue
            state.step = step.id
            state.failures = 0
            result.replies += suggest_messages(journey, step, state, ctx)
            return result
        if request and isinstance(step, ChooseStep):
            named = ans.option_named_in(step.options, request)
            if named is not None:
                record_answer(step, named.value, state, ctx)
                label = state.labels[step.id].get(ctx.language, named.value)
                result.replies.append(
                    Message(text=text_for(ctx, "journey.prefilled", answer=label))
                )
                step_id = after(journey, step, state, ctx)
                continue
        if not isinstance(step, AUTOMATIC):  # interactive: ask and wait
            state.step = step.id
            state.failures = 0
            result.replies.append(prompt(journey, step, state, ctx))
            return result
        step_id = run_automatic(journey, step, result, ctx)
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
            else text_for(ctx, "journey.approved", by=event.by)
        )
        result.replies.append(Message(text=text))
        return _run_from(journey, after(journey, step, state, ctx), result, ctx)
    source = step.rejected.get(ctx.language) if step.rejected else None
    text = (
        ctx.texts.compile(source).render(**variables).strip()
        if source
        else text_for(ctx, "journey.rejected", by=event.by, reason=event.reason)
    )
    result.replies.append(Message(text=text))
    state.status = "done"
    state.step = None
    result.add(Ended(journey.id, "rejected"))
    return result


def _controlled(journey: Journey, word: str, result: Result, ctx: Context) -> Result:
    outcome = control(journey, word, result, ctx)
    if isinstance(outcome, Continue):
        return _run_from(journey, outcome.step_id, result, ctx)
    return outcome


def accepts(journey: Journey, state: JourneyState, text: str, ctx: Context) -> bool:
    """Whether `text` would be taken as the answer to the current step (no side effects)."""
    if state.step is None or state.finished or state.status == "waiting":
        return False
    step = journey.question(state.step)
    if step is None or not asks(step):
        return False
    return not isinstance(receive(step, Text(text), ctx, state), ans.Invalid)


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
    step = journey.question(state.step)
    if isinstance(event, Press) and event.step == CONTROL:
        return _controlled(journey, event.value, result, ctx)
    if isinstance(event, Text):
        word = ans.control_word(ctx.texts, ctx.language, event.text)
        if word is not None:
            return _controlled(journey, word, result, ctx)
    offered = pending_suggestion(journey, state)
    if offered is not None and solved(event, offered, ctx):
        return self_solved(journey, offered, result, ctx)
    if isinstance(step, SuggestStep) and isinstance(event, Press):
        if event.step == step.id and event.value.startswith("more:"):
            return more(journey, step, event.value, result, ctx)
    if step is None:
        raise JourneyError(f"{journey.id}: step {state.step} takes no input")
    value = receive(step, event, ctx, state)
    if isinstance(value, ans.Invalid):
        return refuse(journey, step, value, result, ctx)
    if isinstance(step, SuggestStep) and value is True:
        return self_solved(journey, step, result, ctx)
    record_answer(step, value, state, ctx)
    return _run_from(journey, after(journey, step, state, ctx), result, ctx)
