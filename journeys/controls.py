"""Everything besides a plain answer: control words and buttons (cancel, back, help,
human, status, retry, skip), input that does not fit, more articles, "that fixed it"."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.base.buttons import JOURNEY, button
from bot.base.messages import Choice, Message
from journeys import answers as ans
from journeys.flow import CONTROL, after, text_for
from journeys.model import (
    AskStep,
    Interactive,
    Journey,
    SuggestStep,
    asks,
)
from journeys.prompts import (
    article_message,
    articles_for,
    help_text,
    progress,
    prompt,
    suggest_question,
)
from journeys.state import (
    Context,
    Ended,
    Handoff,
    Input,
    Press,
    Result,
    Text,
)


def refuse(
    journey: Journey, step: Interactive, invalid: ans.Invalid, result: Result, ctx: Context
) -> Result:
    state = result.state
    state.failures += 1
    if state.failures >= ctx.max_failures:
        result.replies.append(
            Message(
                text=text_for(ctx, "journey.struggling"),
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
    why = text_for(ctx, invalid.key, **invalid.params)
    asked = prompt(journey, step, state, ctx)
    result.replies.append(
        replace(asked, text=f"{why}\n{help_text(step, state, ctx)}\n\n{asked.text}")
    )
    return result


@dataclass(frozen=True)
class Continue:
    """Go on running the journey from `step_id` (None: its end), as after an answer."""

    step_id: str | None


def control(journey: Journey, word: str, result: Result, ctx: Context) -> Result | Continue:
    state = result.state
    step = journey.question(state.step)
    if word == "cancel":
        state.status = "cancelled"
        state.step = None
        result.replies.append(
            Message(text=text_for(ctx, "journey.cancelled", title=journey.title.get(ctx.language)))
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
            result.replies.append(Message(text=text_for(ctx, "journey.nothing_to_go_back_to")))
            if step is not None:
                result.replies.append(prompt(journey, step, state, ctx))
            return result
        target = previous[-1]
        cut = len(state.history) - 1 - state.history[::-1].index(target)
        for sid in state.history[cut:]:
            state.answers.pop(sid, None)
            state.labels.pop(sid, None)
        state.history = state.history[:cut]
        state.step = target
        state.failures = 0
        result.replies.append(Message(text=text_for(ctx, "journey.going_back")))
        asked = journey.question(target)
        assert asked is not None  # only questions are gone back to
        result.replies.append(prompt(journey, asked, state, ctx))
    elif word == "help" and step is not None:
        result.replies.append(Message(text=help_text(step, state, ctx)))
        result.replies.append(prompt(journey, step, state, ctx))
    elif word == "status" and step is not None:
        result.replies.append(
            Message(
                text=text_for(
                    ctx,
                    "journey.status",
                    title=journey.title.get(ctx.language),
                    progress=progress(journey, state, ctx),
                )
            )
        )
        result.replies.append(prompt(journey, step, state, ctx))
    elif word in ("retry", "skip") and step is not None:
        if word == "skip" and isinstance(step, AskStep) and step.optional:
            state.answers[step.id] = None
            state.history.append(step.id)
            return Continue(after(journey, step, state, ctx))
        state.failures = 0
        result.replies.append(prompt(journey, step, state, ctx))
    return result


def more(journey: Journey, step: SuggestStep, value: str, result: Result, ctx: Context) -> Result:
    """Show another of the suggested articles, then ask again whether it helped."""
    shown = articles_for(journey, step, result.state, ctx)
    index = value.partition(":")[2]
    if index.isascii() and index.isdigit() and 0 < int(index) < len(shown):  # not "²"
        result.replies.append(article_message(ctx, shown[int(index)]))
        result.replies.append(suggest_question(journey, step, result.state, ctx))
        return result
    return refuse(journey, step, ans.Invalid("invalid.stale_button", {}), result, ctx)


def solved(event: Input, offered: SuggestStep, ctx: Context) -> bool:
    """'That fixed it' pressed, or typed ("fixed", "解决了"), after an inline suggestion."""
    if isinstance(event, Press):
        return event.step == offered.id and event.value == "yes"
    if isinstance(event, Text):
        said = ans.normalise(event.text)
        return said in ans.labels(ctx.texts, ("suggest.fixed_inline",)) or said in (
            ans.normalise(w) for w in ctx.texts.words(ctx.language, "suggest.solved_words")
        )
    return False


def self_solved(journey: Journey, step: SuggestStep, result: Result, ctx: Context) -> Result:
    state = result.state
    state.answers[step.id] = True
    state.history.append(step.id)
    state.status = "done"
    state.step = None
    result.replies.append(
        Message(text=text_for(ctx, "suggest.solved", title=journey.title.get(ctx.language)))
    )
    result.add(Ended(journey.id, "self_solved"))
    return result
