"""The demo data every sandbox starts with.

* user 1 "Demo User" (the sandbox token) in workspace 1 "Demo workspace";
  user 2 "Other User" in workspace 2 "Other team";
* form 1 "Customer feedback": 250 submissions exercising the CSV quirks (phone numbers,
  leading zeros, quotes, newlines, emoji, ``Rock, Pop`` options, 0 and 1.5 amounts);
* form 2 "Event registration": 2 500 submissions (async), partial submissions, matrix,
  files, signature, date range, two fields whose headers are both ``Email`` and a
  deleted field;
* form 3 "Empty survey": no submissions; form 4 "Team retro" in workspace 2.
"""

from __future__ import annotations

from typing import Any

from formexport.sandbox.backend.accounts import Accounts, Token, Workspace
from formexport.sandbox.data.catalog import BASE_TIME, Catalog
from formexport.sandbox.data.fields import make_field

DEMO_USER_ID = 1
OTHER_USER_ID = 2
DEMO_ABILITIES = ["forms-read", "forms-write", "workspaces-read"]
_DAY = 86400


def seed_accounts(accounts: Accounts, *, demo_secret: str) -> Token:
    """Create the two users and workspaces; return the demo user's token."""
    accounts.add_user(DEMO_USER_ID, "Demo User", "demo@example.com")
    accounts.add_user(OTHER_USER_ID, "Other User", "other@example.com")
    created = BASE_TIME - 60 * _DAY
    accounts.add_workspace(
        Workspace(1, "Demo workspace", "🧪", created, members={DEMO_USER_ID: "admin"})
    )
    accounts.add_workspace(
        Workspace(2, "Other team", "🔒", created, members={OTHER_USER_ID: "admin"})
    )
    return accounts.issue(DEMO_USER_ID, DEMO_ABILITIES, secret=demo_secret)


def customer_feedback_fields() -> list[dict[str, Any]]:
    """Fields of demo form 1."""
    return [
        make_field("text", "Name"),
        make_field("email", "Email"),
        make_field("phone_number", "Phone"),
        make_field("rating", "Rating"),
        make_field("text", "Comments"),
        make_field("checkbox", "Subscribe"),
        make_field(
            "multi_select", "Topics", options=["Music", "Rock, Pop", 'Say "hi"', "Sports", "Tech"]
        ),
        make_field("date", "Visit date"),
        make_field("number", "Amount (USD)"),
        make_field("text", "Zip code"),
    ]


def event_registration_fields() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fields and removed fields of demo form 2."""
    fields = [
        make_field("nf-text", "Welcome", content="<p>Register below</p>"),
        make_field("text", "Full name"),
        make_field("email", "Email (work)"),
        make_field("email", "Email (home)"),
        make_field("select", "Ticket type", options=["Standard", "VIP", "Student"]),
        make_field(
            "matrix", "Sessions", rows=["Morning", "Afternoon"], columns=["Workshop A", "Talk"]
        ),
        make_field("files", "Documents"),
        make_field("signature", "Signature"),
        make_field("date", "Dates", date_range=True),
        make_field("slider", "Satisfaction"),
        make_field("toggle_switch", "Newsletter"),
    ]
    removed = [make_field("text", "Dietary needs")]
    return fields, removed


def seed_forms(catalog: Catalog) -> None:
    """Create the four demo forms (ids 1-4, submission ids 1-2755)."""
    catalog.add_form(
        title="Customer feedback",
        fields=customer_feedback_fields(),
        n_submissions=250,
        workspace_id=1,
        partial=False,
        seed=1,
        removed_fields=[],
        now=BASE_TIME - 40 * _DAY,
    )
    fields, removed = event_registration_fields()
    catalog.add_form(
        title="Event registration",
        fields=fields,
        n_submissions=2500,
        workspace_id=1,
        partial=True,
        seed=2,
        removed_fields=removed,
        now=BASE_TIME - 30 * _DAY,
    )
    catalog.add_form(
        title="Empty survey",
        fields=[make_field("text", "Question 1"), make_field("number", "Score")],
        n_submissions=0,
        workspace_id=1,
        partial=False,
        seed=3,
        removed_fields=[],
        now=BASE_TIME - 20 * _DAY,
    )
    catalog.add_form(
        title="Team retro",
        fields=[make_field("text", "What went well"), make_field("rating", "Mood")],
        n_submissions=5,
        workspace_id=2,
        partial=False,
        seed=4,
        removed_fields=[],
        now=BASE_TIME - 10 * _DAY,
    )
