"""`/problem`: problem records from chat (docs/problems.md), and the buttons of a
recurring-fault proposal.

    /problem                          open problems of my queues (also /problems)
    /problem IT-1042 title            open a problem from an incident (linked to it)
    /problem IT-1042 | PRB-12         show the problem (of an incident, of its work ticket)
    /problem PRB-12 cause TEXT        record the root cause      (-> known error)
    /problem PRB-12 workaround TEXT   record the workaround       (-> known error)
    /problem PRB-12 link IT-1043 ...  link incidents; unlink IT-1043 to undo
    /problem PRB-12 publish           the workaround becomes a known-error article
    /problem PRB-12 resolve NOTE      resolve it: linked open incidents are resolved and
                                      their requesters asked to confirm
"""

from __future__ import annotations

from bot import permissions, problems, recurring
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.chat.verbs.staff import resolve_verb
from bot.lookup import normalise_number, split_number, staff_only, visible_ticket, workable_ticket
from bot.turn import Turn
from store import tickets as repo
from store.models import Problem, ProblemCandidate, Ticket
from store.sql import decide_once, row_id

ACTIONS = {
    "cause": "root_cause",
    "rootcause": "root_cause",
    "root": "root_cause",
    "workaround": "workaround",
    "wa": "workaround",
}


def problem_verb(turn: Turn, args: str) -> None:
    if not staff_only(turn, "problem"):
        return
    first, rest = split_number(args)
    if not first:
        _list(turn)
        return
    problem_id = problems.parse_number(turn.desk, first)
    if problem_id is not None:
        problem = problems.get(turn.session, problem_id)
        if problem is None:
            turn.say("problems.no_such", problem=first)
            return
        _act(turn, problem, rest)
        return
    ticket = visible_ticket(turn, first, "problem")
    if ticket is None or ticket.id is None:
        return
    found = problems.of_work_ticket(turn.session, ticket.id) or problems.of_incident(
        turn.session, ticket.id
    )
    if found is not None and (not rest or found.ticket_id == ticket.id):
        _act(turn, found, rest)
        return
    if found is not None and found.status in problems.OPEN:
        turn.say(
            "problems.already_linked",
            number=ticket.number,
            problem=problems.number(turn.desk, found),
        )
        return
    _open_from(turn, ticket, rest)


def _list(turn: Turn) -> None:
    found = problems.open_problems(turn.session, list(turn.person.queues) or None)
    rows = []
    for problem in found:
        shown = problems.view(turn.desk, turn.session, problem, turn.language)
        rows.append(shown | {"count": len(shown["incidents"])})
    turn.say("problems.list", problems=rows)


def _show(turn: Turn, problem: Problem) -> None:
    turn.say("problems.show", **problems.view(turn.desk, turn.session, problem, turn.language))


def _open_from(turn: Turn, incident: Ticket, title: str) -> None:
    if incident.type == "problem":
        turn.say("problems.not_an_incident", number=incident.number)
        return
    if not title:
        turn.say("problems.usage")
        return
    ticket = workable_ticket(turn, incident.number, "problem")
    if ticket is None:
        return
    title = " ".join(title.split())
    low, high = problems.TITLE_CHARS
    if not low <= len(title) <= high:
        turn.say("problems.bad_title", title=title[:high])
        return
    problem = problems.open_problem(
        turn.desk,
        turn.session,
        actor=turn.person,
        title=title,
        service_id=ticket.service_id,
        queue=ticket.queue,
        incidents=[ticket],
        how="technician",
        now=turn.now,
    )
    turn.say(
        "problems.opened",
        problem=problems.number(turn.desk, problem),
        title=title,
        number=ticket.number,
        work=problems.work_ticket(turn.session, problem).number,
    )


def _act(turn: Turn, problem: Problem, rest: str) -> None:
    word, _, text = rest.partition(" ")
    word, text = word.lower(), text.strip()
    desk, session = turn.desk, turn.session
    if not word:
        # Seen by those who may see its work ticket: its queue's technicians, admins.
        if visible_ticket(turn, problems.work_ticket(session, problem).number, "problem"):
            _show(turn, problem)
        return
    shown = problems.number(desk, problem)
    work = workable_ticket(turn, problems.work_ticket(session, problem).number, "problem")
    if work is None:
        return
    if word == "resolve":
        if problem.status == "resolved":
            turn.say("problems.already_resolved", problem=shown)
            return
        resolve_verb(turn, f"{work.number} {text}")
        return
    if problem.status == "resolved":
        turn.say("problems.already_resolved", problem=shown)
        return
    if word in ACTIONS:
        if not text:
            turn.say("problems.usage")
            return
        field = ACTIONS[word]
        moved = problems.record(
            desk, session, problem, field, text[:4000], turn.person.id, turn.now
        )
        turn.say(f"problems.recorded_{field}", problem=shown, known=moved)
        return
    if word in ("link", "unlink"):
        _links(turn, problem, word, text)
        return
    if word == "publish":
        if not problem.workaround.strip():
            turn.say("problems.no_workaround", problem=shown)
            return
        row, created = problems.publish(desk, session, problem, turn.person.id, turn.now)
        turn.say("problems.published", problem=shown, id=row.article_id, created=created)
        return
    turn.say("problems.usage")


def _links(turn: Turn, problem: Problem, word: str, text: str) -> None:
    shown = problems.number(turn.desk, problem)
    numbers = [normalise_number(turn.desk, w) for w in text.replace(",", " ").split()]
    if not numbers:
        turn.say("problems.usage")
        return
    for raw in numbers:
        incident = workable_ticket(turn, raw, "problem", final_ok=word == "unlink")
        if incident is None:
            continue
        if incident.id == problem.ticket_id or incident.type == "problem":
            turn.say("problems.not_an_incident", number=incident.number)
            continue
        if word == "link":
            done = problems.link(
                turn.desk,
                turn.session,
                problem,
                incident,
                how="technician",
                actor_id=turn.person.id,
                now=turn.now,
            )
        else:
            done = problems.unlink(
                turn.desk, turn.session, problem, incident, turn.person.id, turn.now
            )
        key = f"problems.{word}ed" if done else f"problems.{word}_nothing"
        turn.say(key, problem=shown, number=incident.number)


# ---- the proposal's buttons -----------------------------------------------------------------


def on_button(turn: Turn, rest: str) -> None:
    """`pb:open:<candidate>` and `pb:dismiss:<candidate>`: technicians of its queue."""
    action, _, raw = rest.partition(":")
    candidate_id = row_id(raw)
    candidate = turn.session.get(ProblemCandidate, candidate_id) if candidate_id else None
    if candidate is None or action not in ("open", "dismiss"):
        turn.say("problems.candidate_gone")
        return
    if not permissions.may_work_queue(turn.person, candidate.queue):
        permissions.refuse(
            turn,
            f"{action} problem candidate",
            key="perm.not_your_queue_name",
            queue=turn.desk.queue_name(candidate.queue, turn.language),
        )
        return
    to = "opened" if action == "open" else "dismissed"
    assert candidate.id is not None
    won = decide_once(
        turn.session, ProblemCandidate, candidate.id, "proposed", to, turn.person.id, turn.now
    )
    if not won:
        turn.say(
            "problems.candidate_decided",
            status=turn.plain(f"problems.candidate_status.{candidate.status}"),
        )
        return
    repo.add_event(
        session=turn.session,
        ticket=None,
        at=turn.now,
        actor_id=turn.person.id,
        kind=f"problem_candidate_{to}",
        note=candidate.key,
        data={"candidate": candidate.id},
    )
    if to == "opened":
        listed = recurring.tickets_of(turn.session, candidate)
        held = problems.linked_ids(turn.session, [t.id for t in listed if t.id is not None])
        incidents = [t for t in listed if t.id not in held]
        about = recurring.what(turn.desk, candidate, turn.desk.settings.language)
        title = turn.desk.texts.plain(
            turn.desk.settings.language,
            "problems.candidate_title",
            **about,
            by_person=candidate.person_id is not None,
        )
        problem = problems.open_problem(
            turn.desk,
            turn.session,
            actor=turn.person,
            title=title,
            service_id=candidate.service_id,
            queue=candidate.queue,
            incidents=incidents,
            how="candidate",
            now=turn.now,
            items=(candidate.ci_id,) if candidate.ci_id else (),
        )
        candidate.problem_id = problem.id
        turn.session.add(candidate)
        turn.session.flush()
        turn.say(
            "problems.opened_candidate",
            problem=problems.number(turn.desk, problem),
            title=title,
            count=len(incidents),
            work=problems.work_ticket(turn.session, problem).number,
        )
    else:
        turn.say("problems.dismissed")
    recurring.post(turn.desk, turn.session, candidate, turn.now)


def register(verbs: Verbs) -> None:
    verbs.add(
        Verb("problem", problem_verb, staff=True, aliases=("problems",), audience=Audience.TICKET)
    )
