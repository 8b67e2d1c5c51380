"""Whatever a client sends as a filter, a PATCH path or a resource, the SCIM endpoint's
parsers answer with a SCIM error (a 4xx) or a result, never an unexpected exception (a 500).
Property tests on the parsers themselves; the HTTP tests show how errors reach the client."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.scim.documents import apply_patch, clean
from bot.scim.errors import ScimError
from bot.scim.filters import matches, parse_filter, parse_path
from bot.scim.schemas import GROUPS, USERS

WORDS = st.sampled_from(
    [
        "userName", "emails", "value", "type", "name.givenName", "members", "active", "eq",
        "co", "sw", "pr", "gt", "and", "or", "not", "(", ")", "[", "]", '"x"', '"a\\"b"',
        "true", "null", "12", "1.5", ".value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "meta.created",
    ]
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=60), st.lists(WORDS, max_size=12).map(" ".join))
USER: dict[str, Any] = {
    "userName": "bjensen",
    "emails": [{"value": "b@corp.test", "type": "work"}],
    "name": {"givenName": "Barbara"},
    "active": True,
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_any_filter_parses_and_matches_or_is_an_invalid_filter(text: str) -> None:
    for kind in (USERS, GROUPS):
        try:
            tree = parse_filter(text, kind)
        except ScimError as exc:
            assert exc.status == 400 and exc.scim_type == "invalidFilter", exc.detail
            continue
        try:
            matches(tree, {"id": "1", **USER}, kind)
        except ScimError as exc:  # e.g. `gt true`: told as a bad filter
            assert exc.status == 400 and exc.scim_type == "invalidFilter"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "op": st.sampled_from(["add", "Replace", "remove", "x"]),
                "path": st.one_of(st.none(), TEXT),
                "value": JSON,
            }
        ),
        max_size=3,
    )
)
def test_any_patch_is_applied_or_refused_with_a_scim_error(
    operations: list[dict[str, Any]],
) -> None:
    try:
        clean(USERS, apply_patch(USERS, USER, {"Operations": operations}))
    except ScimError as exc:
        assert 400 <= exc.status < 500 and exc.scim_type, exc.detail


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "userName",
                "emails",
                "name",
                "active",
                "externalId",
                "members",
                "displayName",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            ]
        ),
        JSON,
    )
)
def test_any_resource_is_cleaned_or_refused_with_a_scim_error(body: dict[str, Any]) -> None:
    for kind in (USERS, GROUPS):
        try:
            clean(kind, body)
        except ScimError as exc:
            assert exc.status == 400 and exc.scim_type in ("invalidValue", "invalidSyntax")


def test_paths_parse_or_are_invalid() -> None:
    for text in ('emails[type eq "work"].value', "members", f"{USERS.extensions[0].id}:manager"):
        parse_path(text, USERS)
    for bad in ("emails[", "emails[type eq]", "a b", 'emails[type eq "w"]x', ""):
        try:
            parse_path(bad, USERS)
        except ScimError as exc:
            assert exc.status == 400
        else:
            raise AssertionError(bad)
