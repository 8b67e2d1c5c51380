"""The report's figures on a hand-seeded store (tests/insight/seed.py), on SQLite and
PostgreSQL. Every expected number is worked out in the comments from the seed."""

from __future__ import annotations

import pytest

from bot.desk import Desk
from bot.insight.metrics import Figures, Rate, Report, Spread, build_report, percentile
from tests.insight.seed import END, MIDDLE, START, seed


@pytest.fixture
def report(desk: Desk) -> Report:
    seed(desk)
    with desk.store.read() as session:
        return build_report(desk, session, START, END)


def test_nearest_rank_percentiles():
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    # n = 5: p50 is the ceil(2.5) = 3rd value, p90 the ceil(4.5) = 5th.
    assert percentile([4.0, 0.5, 2.5, 0.5, 1.5], 50) == 1.5
    assert percentile([4.0, 0.5, 2.5, 0.5, 1.5], 90) == 4.0


def test_the_period_is_split_into_weeks_monday_to_monday(report: Report):
    assert [(w.start, w.end) for w in report.weeks] == [(START, MIDDLE), (MIDDLE, END)]
    assert report.timezone == "Europe/London"


def test_usage(report: Report):
    period, week1, week2 = report.period, *report.weeks
    # Week 1: T1 (alice vpn), T2 (bob vpn), T3 (alice password), S1 (wang.fang self-solved
    # vpn) = 4 requests from alice, bob, wang.fang = 3 people. T7 (6 Nov) is before the
    # period; bob's cancelled journey is not a request; L1 was logged by IT.
    assert (week1.requests, week1.requesters) == (4, 3)
    # Week 2: T4 (wang.fang), T5 (bob), T6 (mark printer), S2 (mark, direct answer),
    # S4 (alice self-solved password), Li Wei linked to the VPN incident = 6 requests from
    # 5 people. The problem ticket P1 is IT's record, not a request.
    assert (week2.requests, week2.requesters) == (6, 5)
    # Period: 4 + 6 = 10 requests; alice, bob, wang.fang, mark, li.wei = 5 people.
    assert (period.requests, period.requesters) == (10, 5)
    assert period.by_kind == {
        "ticket": 6,  # T1-T6
        "self_solved": 2,  # S1, S4
        "completed": 0,
        "kb": 1,  # S2
        "linked": 1,  # Li Wei
    }
    # Per service: vpn = T1, T2, S1, T4, T5, Li Wei = 6; password = T3, S2 (the article's
    # service), S4 = 3; printer = T6 = 1.
    assert period.services == [("vpn_issue", 6), ("password_reset", 3), ("printer_issue", 1)]


def test_self_service_bypass_and_repeats(report: Report):
    period, week1, week2 = report.period, *report.weeks
    # Self-service: S1 + S2 + S4 = 3 of 10; week 1: S1 = 1 of 4; week 2: S2, S4 = 2 of 6.
    assert period.self_service == Rate(3, 10)
    assert (week1.self_service, week2.self_service) == (Rate(1, 4), Rate(2, 6))
    # Bypass: logged / (requests + logged): L1 + L2 = 2 of 10 + 2 = 12; weekly 1 of 4 + 1,
    # 1 of 6 + 1.
    assert period.bypass == Rate(2, 12)
    assert (week1.bypass, week2.bypass) == (Rate(1, 5), Rate(1, 7))
    # Repeats (same person and service within the 7 days before):
    #   T1 alice vpn Mon 9 10:00 <- T7 alice vpn Fri 6 10:00 (look-back)      repeat
    #   T4 wang.fang vpn Mon 16 09:00 <- S1 Tue 10 11:00 (>= Mon 9 09:00)      repeat
    #   T5 bob vpn Tue 17 10:00 <- T2 Tue 10 16:00 (>= Tue 10 10:00)           repeat
    #   S4 alice password Thu 19 09:30: T3 Wed 11 09:00 is more than 7 days before: no.
    # Every request of the period has a service: 3 of 10; week 1: 1 of 4; week 2: 2 of 6.
    assert period.repeats == Rate(3, 10)
    assert (week1.repeats, week2.repeats) == (Rate(1, 4), Rate(2, 6))


def test_reopen_rate(report: Report):
    period, week1, week2 = report.period, *report.weeks
    # Tickets resolved in week 1: T1, T2, T3 (twice), L1 = 4; T3 was reopened Fri 13 10:00,
    # after its first resolution that week (Thu 12 11:00): 1 of 4. Week 2: T4 = 0 of 1.
    # Period: T1, T2, T3, L1, T4 = 5, one reopened.
    assert (week1.reopened, week2.reopened, period.reopened) == (
        Rate(1, 4),
        Rate(0, 1),
        Rate(1, 5),
    )


def test_first_response_and_resolution_times_in_business_hours(report: Report):
    period, week1, week2 = report.period, *report.weeks
    # First response (business hours, desk tickets opened in the period):
    #   T1 Mon 10:00 -> 11:30                       = 1.5
    #   T2 Tue 16:00 -> Wed 10:00: 1.5 + 1.0        = 2.5
    #   T3 Wed 09:00 -> 09:30                       = 0.5
    #   T4 Mon 09:00 -> 13:00                       = 4.0
    #   T5 Tue 10:00 -> 10:30                       = 0.5
    #   T6 Fri 17:00: nobody yet                    -> still waiting
    # Period [0.5, 0.5, 1.5, 2.5, 4.0]: p50 = 3rd = 1.5, p90 = 5th = 4.0.
    assert period.first_response == Spread(5, 1.5, 4.0)
    assert period.awaiting_response == 1
    # Week 1 [0.5, 1.5, 2.5]: p50 = 2nd = 1.5, p90 = 3rd = 2.5; week 2 [0.5, 4.0].
    assert week1.first_response == Spread(3, 1.5, 2.5)
    assert week2.first_response == Spread(2, 0.5, 4.0)
    # Resolution (clock stops while waiting on the requester and while resolved):
    #   T1 Mon 10:00 -> 15:00                                        = 5.0
    #   T2 Tue 16:00 -> Wed 12:00: 1.5 + 3.0                         = 4.5
    #   T3 Wed 09:00-10:00 (1.0), waiting until Thu 10:00, Thu 10:00-11:00 (1.0),
    #      resolved until Fri 10:00, reopened Fri 10:00-12:00 (2.0)  = 4.0
    #   T4 Mon 09:00 -> Thu 11:00: 8.5 + 8.5 + 8.5 + 2.0             = 27.5
    # Period [4.0, 4.5, 5.0, 27.5]: p50 = 2nd = 4.5, p90 = ceil(3.6) = 4th = 27.5.
    assert period.resolution == Spread(4, 4.5, 27.5)
    assert week1.resolution == Spread(3, 4.5, 5.0)
    assert week2.resolution == Spread(1, 27.5, 27.5)


def test_sla_compliance(report: Report):
    period, week1, week2 = report.period, *report.weeks
    # Targets: T2 is P2 (1 h / 8 h), the others P3 (4 h / 25.5 h).
    #   T1 1.5 <= 4,  5.0 <= 25.5     met
    #   T2 2.5 >  1,  4.5 <= 8        response missed
    #   T3 0.5 <= 4,  4.0 <= 25.5     met
    #   T4 4.0 <= 4, 27.5 >  25.5     resolution missed
    assert (period.sla, period.sla_response, period.sla_resolution) == (
        Rate(2, 4),
        Rate(3, 4),
        Rate(3, 4),
    )
    assert (week1.sla, week1.sla_response, week1.sla_resolution) == (
        Rate(2, 3),
        Rate(2, 3),
        Rate(3, 3),
    )
    assert (week2.sla, week2.sla_response, week2.sla_resolution) == (
        Rate(0, 1),
        Rate(1, 1),
        Rate(0, 1),
    )
    # Still open at the end: T5 ran Tue 7.5 + Wed, Thu, Fri 8.5 each = 33 h > 25.5 (over);
    # T6 ran 0.5 h (not over).
    assert (period.open_over_target, week1.open_over_target, week2.open_over_target) == (1, 0, 1)


def test_satisfaction_and_approvals(report: Report):
    period, week1, week2 = report.period, *report.weeks
    # Surveys sent: T7 (Mon 9, 4), T1 (Tue 10, 5), T2 (Thu 12, no answer), T3 (Mon 16, 3).
    # Period: 3 of 4 answered, average (4 + 5 + 3) / 3 = 4.0.
    assert (period.csat_average, period.csat_responses) == (4.0, Rate(3, 4))
    # Week 1: 2 of 3, (4 + 5) / 2 = 4.5; week 2: 1 of 1, 3.
    assert (week1.csat_average, week1.csat_responses) == (4.5, Rate(2, 3))
    assert (week2.csat_average, week2.csat_responses) == (3.0, Rate(1, 1))
    # Approval waits (decided in the period; the cancelled one has none):
    #   Mon 9 10:00 -> 14:00 = 4.0; Thu 12 16:00 -> Fri 13 10:00 = 1.5 + 1.0 = 2.5;
    #   Tue 17 09:00 -> Wed 18 17:00 = 8.5 + 8.0 = 16.5.
    # Period [2.5, 4.0, 16.5]: p50 = 2nd = 4.0, p90 = 3rd = 16.5.
    assert period.approval_wait == Spread(3, 4.0, 16.5)
    assert week1.approval_wait == Spread(2, 2.5, 4.0)
    assert week2.approval_wait == Spread(1, 16.5, 16.5)
    # Waiting at the end: the one decided Mon 23 09:30 and the pending one.
    assert period.approvals_waiting == 2


def test_matcher_quality(report: Report):
    period, week1, week2 = report.period, *report.weeks
    # Week 1: 6 messages: 3 understood, 1 picked, 1 "none of these" + 1 not understood.
    assert (
        week1.matcher_understood,
        week1.matcher_disambiguated,
        week1.matcher_not_understood,
        week1.matcher_unanswered,
    ) == (Rate(3, 6), Rate(1, 6), Rate(2, 6), Rate(0, 6))
    # Week 2: 8: 4 understood, 2 picked, 1 out of scope, 1 offered and left unanswered.
    assert (
        week2.matcher_understood,
        week2.matcher_disambiguated,
        week2.matcher_not_understood,
        week2.matcher_unanswered,
    ) == (Rate(4, 8), Rate(2, 8), Rate(1, 8), Rate(1, 8))
    # Period: 14 (the Sunday 8 message is before it): 7, 3, 3, 1.
    assert (
        period.matcher_understood,
        period.matcher_disambiguated,
        period.matcher_not_understood,
        period.matcher_unanswered,
    ) == (Rate(7, 14), Rate(3, 14), Rate(3, 14), Rate(1, 14))


def test_major_incidents(report: Report):
    period, week1, week2 = report.period, *report.weeks
    # One incident declared Wed 18; T4, T5 and Li Wei linked to it.
    assert (period.incidents_declared, period.incident_reports) == (1, 3)
    assert (week1.incidents_declared, week2.incident_reports) == (0, 3)


def test_rates_as_json_numbers(report: Report):
    data = report.as_dict()
    period = data["period"]
    assert period["self_service"] == {"count": 3, "of": 10, "rate": 0.3}
    assert period["bypass"] == {"count": 2, "of": 12, "rate": 0.1667}
    assert period["resolution"] == {"count": 4, "p50_hours": 4.5, "p90_hours": 27.5}
    assert period["csat_average"] == 4.0
    assert [w["requests"] for w in data["weeks"]] == [4, 6]


def test_an_empty_period_has_no_rates(desk: Desk):
    with desk.store.read() as session:
        empty: Figures = build_report(desk, session, START, END).period
    assert empty.requests == 0 and empty.self_service.value is None
    assert empty.first_response == Spread(0, None, None) and empty.csat_average is None
