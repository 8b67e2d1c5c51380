"""The held-out file is well formed and covers what the default-catalog targets need.

It is measured (not asserted) with `deskbot eval-intents tests/intents/heldout.jsonl` once
the 23 default services are in the catalog; nothing may be tuned on it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.base.language import detect
from intents.evaluate import load_cases

SERVICES = (
    "password_reset mfa_reset vpn_issue network_issue email_issue printer_issue hardware_issue "
    "slow_computer app_error meeting_room_av security_incident lost_device new_laptop "
    "peripheral_request software_request access_request onboarding offboarding mobile_device "
    "shared_mailbox guest_wifi storage_quota change_request"
).split()


def test_heldout_covers_every_service_both_languages_and_out_of_scope():
    cases = load_cases(Path(__file__).with_name("heldout.jsonl"))
    counts = Counter(c.expected for c in cases)
    assert len(cases) >= 400
    assert set(counts) == {*SERVICES, "ticket_status", "human_handoff", "none"}
    assert min(counts[s] for s in SERVICES) >= 10
    assert counts["none"] >= 40
    languages = Counter(detect(c.text) for c in cases)
    assert languages["zh"] >= 100 and languages["en"] >= 250
    assert len({c.text for c in cases}) == len(cases)  # no duplicates
