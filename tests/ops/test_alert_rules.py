"""deploy/prometheus-alerts.yaml parses as Prometheus rule groups and names only metrics that
/metrics shows; docs/operations.md documents every metric."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.ops.exposition import names

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus-alerts.yaml"
PROMQL_WORDS = {"by", "without", "or", "and", "unless", "on", "ignoring", "bool", "offset"}
PROMETHEUS_OWN = {"up"}  # set by Prometheus itself for every scraped target


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: label matchers, grouping labels, range
    durations, numbers and function names left out."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word = match.group()
        follows = expr[match.end() :].lstrip()[:1]
        if word in PROMQL_WORDS or follows == "(":
            continue
        found.add(word)
    return found


def test_the_example_alert_rules_parse_and_name_only_metrics_that_exist() -> None:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = [rule for group in doc["groups"] for rule in group["rules"]]
    assert len(rules) >= 10
    known = names() | PROMETHEUS_OWN
    read: set[str] = set()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["alert"].startswith("Deskbot") and rule["annotations"]["summary"]
        assert rule["labels"]["severity"] in {"page", "ticket"}
        used = metrics_in(rule["expr"])
        assert used, rule["alert"]
        assert used <= known, f"{rule['alert']} names {sorted(used - known)}"
        read |= used
    # The alerts watch the service, not only the process.
    for name in (
        "deskbot_database_up",
        "deskbot_channel_up",
        "deskbot_engine_processes_down",
        "deskbot_outbox_oldest_due_seconds",
        "deskbot_messages_total",
    ):
        assert name in read


def test_the_checker_sees_a_misspelt_metric() -> None:
    used = metrics_in('sum by (queue) (increase(deskbot_sla_breach_total{queue="x"}[1h])) > 3')
    assert used == {"deskbot_sla_breach_total"}
    assert not used <= names()


def test_every_metric_is_documented_with_its_meaning() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("## Health and metrics", 1)[1].split("\n## ", 1)[0]
    bases = {re.sub(r"_(bucket|sum|count)$", "", name) for name in names()}
    missing = sorted(name for name in bases if f"`{name}`" not in section)
    assert not missing, f"not in docs/operations.md: {missing}"
    assert "deploy/prometheus-alerts.yaml" in section
