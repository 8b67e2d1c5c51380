"""What the person is shown: questions with their buttons and progress line, self-help
articles, help for a step, and what happens next after a ticket."""

from __future__ import annotations

import re

from jinja2 import UndefinedError

from bot.base.buttons import JOURNEY, button
from bot.base.messages import Choice, Message
from bot.base.texts import trusted
from bot.base.timefmt import describe_duration
from journeys.flow import after, condition, condition_or_unknown, render_local, text_for
from journeys.kb import Article, to_markup
from journeys.model import (
    ApproveStep,
    AskStep,
    ChooseStep,
    ConfirmStep,
    Interactive,
    Journey,
    SuggestStep,
    TicketStep,
    asks,
)
from journeys.state import (
    Context,
    JourneyState,
)


def progress(journey: Journey, state: JourneyState, ctx: Context) -> str:
    """'Step 2 of 4 · usually done within 1 business day'.

    The total is the path this person is actually on, so it never jumps under them
    ("Step 1 of 4", then "Step 2 of 3"): while a step ahead depends on a question not yet
    answered, the total is a range ("Step 1 of 3-4") that narrows as they answer.
    """
    done = sum(1 for sid in state.history if asks(journey.step(sid)))
    sure, maybe = _steps_ahead(journey, state, ctx)
    current = done + 1
    total = max(current, done + sure)
    return ctx.texts.plain(
        ctx.language,
        "journey.progress",
        current=current,
        total=total,
        most=max(total, done + sure + maybe),
        expected=ctx.expected_text,
    )


def _steps_ahead(journey: Journey, state: JourneyState, ctx: Context) -> tuple[int, int]:
    """The questions from the current one up to the ticket: those that will be asked, and
    those that depend on an answer still to come."""
    sure = maybe = 0
    on_path = True  # False once a jump ahead depends on an answer still to come
    step_id = state.step
    seen: set[str] = set()
    while step_id is not None and step_id not in seen:
        seen.add(step_id)
        step = journey.step(step_id)
        decided = step.when is None or _decided(journey, state, step.when)
        known = on_path and decided
        if decided and not condition(ctx, state, step.when):
            index = journey.index(step.id) + 1
            step_id = journey.steps[index].id if index < len(journey.steps) else None
            continue
        if asks(step) and step.id != state.step and isinstance(step, SuggestStep):
            try:
                if not articles_for(journey, step, state, ctx):
                    step_id = after(journey, step, state, ctx)
                    continue
            except UndefinedError:  # ranked by an answer still to come
                known = False
        if asks(step):
            if known:
                sure += 1
            else:
                maybe += 1
        if step.type == "ticket":
            break
        rules = step.goto if isinstance(step.goto, list) else []
        if any(r.when is not None and not _decided(journey, state, r.when) for r in rules):
            # Where it goes next depends on an answer to come: the rest is uncertain.
            on_path = False
            index = journey.index(step.id) + 1
            step_id = journey.steps[index].id if index < len(journey.steps) else None
            continue
        step_id = after(journey, step, state, ctx)
    return sure, maybe


def _decided(journey: Journey, state: JourneyState, expression: str) -> bool:
    """Whether every question of this journey that `expression` reads is answered."""
    named = set(_READS.findall(expression))
    return all(n in state.answers or n not in journey.step_ids for n in named)


_READS = re.compile(r"\b(?:answers|labels)\.(\w+)")


def prompt(journey: Journey, step: Interactive, state: JourneyState, ctx: Context) -> Message:
    if isinstance(step, SuggestStep):  # its `prompt` introduces the article, not a question
        return suggest_question(journey, step, state, ctx)
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
        text=text_for(
            ctx,
            "kb.article",
            intro=trusted(intro) if intro else "",
            title=article.title,
            body=trusted(to_markup(article.body)),
        )
    )


def suggest_question(
    journey: Journey, step: SuggestStep, state: JourneyState, ctx: Context
) -> Message:
    shown = articles_for(journey, step, state, ctx)
    text = (
        render_local(ctx, state, step.question.get(ctx.language))
        if step.question
        else text_for(ctx, "suggest.question")
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


def suggest_messages(
    journey: Journey, step: SuggestStep, state: JourneyState, ctx: Context
) -> list[Message]:
    shown = articles_for(journey, step, state, ctx)
    intro = (
        render_local(ctx, state, step.prompt.get(ctx.language))
        if step.prompt
        else text_for(ctx, "suggest.intro")
    )
    return [article_message(ctx, shown[0], intro), suggest_question(journey, step, state, ctx)]


def help_text(step: Interactive, state: JourneyState, ctx: Context) -> str:
    if step.hint is not None:
        specific = render_local(ctx, state, step.hint.get(ctx.language))
    else:
        kind = step.validate_.kind if isinstance(step, AskStep) else step.type
        specific = text_for(ctx, f"help.{kind}")
    return text_for(ctx, "help.step", specific=specific)


def stages_after(
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
                who = text_for(ctx, "path.manager")
            else:
                who = text_for(ctx, "path.group", group=(step.group or "").replace("_", " "))
            within = (
                describe_duration(ctx.texts, ctx.language, step.expected) if step.expected else ""
            )
            stages.append(text_for(ctx, "path.approval", who=trusted(who), within=within))
        if not condition(ctx, state, step.when):
            index = journey.index(step.id) + 1
            step_id = journey.steps[index].id if index < len(journey.steps) else None
        else:
            step_id = after(journey, step, state, ctx)
    return stages


def next_text(journey: Journey, step: TicketStep, state: JourneyState, ctx: Context) -> str | None:
    """'Next: manager approval, usually within 4 h; then IT delivers within 2 business days'."""
    what = render_local(ctx, state, step.next.get(ctx.language)) if step.next else ""
    what = what.rstrip().rstrip(".。!！")  # the path template adds the full stop
    stages = stages_after(journey, after(journey, step, state, ctx), state, ctx)
    if not stages and not step.expected and not what:
        return None
    return text_for(
        ctx,
        "path.full",
        stages=[trusted(s) for s in stages],
        what=trusted(what) if what else text_for(ctx, "path.it_delivers"),
        within=describe_duration(ctx.texts, ctx.language, step.expected) if step.expected else "",
    )
