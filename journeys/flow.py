"""Reading a journey's definitions with its variables: texts, conditions, and the step that
comes next. Everything the other parts of the interpreter share."""

from __future__ import annotations

from datetime import date
from typing import Any

from jinja2 import TemplateError, UndefinedError

from journeys.model import (
    Journey,
    Step,
)
from journeys.state import (
    Context,
    JourneyState,
)

END = "end"


CONTROL = "_"


STAFF_LANGUAGE = "en"  # ticket summaries and descriptions are written for IT staff


class JourneyError(Exception):
    """A definition problem found while running (the loader should have caught it)."""


def text_for(ctx: Context, key: str, **params: Any) -> str:
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


def condition_or_unknown(ctx: Context, state: JourneyState, expression: str | None) -> bool:
    """Like `condition`, but a condition on unanswered questions counts as true."""
    if expression is None:
        return True
    try:
        return bool(ctx.texts.expression(expression)(**ctx.variables(state)))
    except UndefinedError:
        return True


def today(ctx: Context) -> date:
    if ctx.today is not None:
        return ctx.today
    raise JourneyError("context has no date")


def after(journey: Journey, step: Step, state: JourneyState, ctx: Context) -> str | None:
    """The id of the step after `step` (None = end of the journey)."""
    if isinstance(step.goto, str):
        return None if step.goto == END else step.goto
    if isinstance(step.goto, list):
        for rule in step.goto:
            if condition(ctx, state, rule.when):
                return None if rule.to == END else rule.to
    index = journey.index(step.id) + 1
    return journey.steps[index].id if index < len(journey.steps) else None
