"""The demo CRM export (``ingest/demo_corpus/crm``): every row loads, ids link up, and the
access, consent and planted-PII setups the tests and labelled sets rely on are in place."""

from __future__ import annotations

import json
from collections import Counter

from guardrails.pii import iban_ok, luhn_ok
from tests.conftest import DEMO_CORPUS
from tests.datasets.conftest import ALL_TEAMS, DATE, EMAIL, Corpus, check_access_metadata, check_times

CRM = DEMO_CORPUS / "crm"
HEADERS = {
    "accounts.csv": "account_id,name,industry,region,owner,team,visibility,annual_revenue,employees,website,"
                    "created_at,updated_at,description",
    "contacts.csv": "contact_id,account_id,first_name,last_name,title,email,phone,owner,consent,created_at,"
                    "updated_at",
    "opportunities.csv": "opportunity_id,account_id,name,stage,amount,currency,close_date,probability,owner,team,"
                         "visibility,next_step,competitor,created_at,updated_at,description",
    "notes.csv": "note_id,account_id,opportunity_id,contact_id,author,team,visibility,created_at,updated_at,"
                 "subject,body",
}
ACTIVITY_KEYS = ["activity_id", "type", "account_id", "opportunity_id", "contact_id", "owner", "team",
                 "visibility", "occurred_at", "subject", "description"]
STAGES = {"Prospecting", "Discovery", "Demo", "Proposal", "Negotiation", "Closed Won", "Closed Lost"}
TEST_CARD, TEST_IBAN = "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00"


def test_every_row_and_file_loads(corpus: Corpus) -> None:
    assert corpus.errors == []
    for name, header in HEADERS.items():
        assert (CRM / name).read_text(encoding="utf-8").splitlines()[0] == header, name


def test_accounts(corpus: Corpus) -> None:
    accounts = corpus.of_kind("account")
    problems = []
    for aid, a in accounts.items():
        problems += check_access_metadata(f"account {aid}", a.owner, a.team, a.visibility)
        problems += check_times(f"account {aid}", a.fields)
        problems += [f"account {aid}: {k} not an integer" for k in ("annual_revenue", "employees")
                     if not str(a.fields[k]).isdigit()]
        if len(a.team) != 1:
            problems.append(f"account {aid}: one team expected, got {a.team}")
    assert problems == []
    assert len(accounts) >= 4
    expected = {"ACME-001": "team", "GLOBEX-002": "team", "INITECH-003": "team", "UMBRELLA-004": "private"}
    assert {aid: accounts[aid].visibility for aid in expected if aid in accounts} == expected


def test_contacts_and_their_consent(corpus: Corpus) -> None:
    accounts, contacts = corpus.of_kind("account"), corpus.of_kind("contact")
    problems = []
    for cid, c in contacts.items():
        problems += check_access_metadata(f"contact {cid}", c.owner, [], c.visibility)
        problems += check_times(f"contact {cid}", c.fields)
        if c.account_id not in accounts:
            problems.append(f"contact {cid}: unknown account {c.account_id}")
        if not EMAIL.match(c.email or ""):
            problems.append(f"contact {cid}: bad email {c.email!r}")
        if set(c.consent) - {"sales_outreach", "sales_insights"}:
            problems.append(f"contact {cid}: bad consent {c.consent}")
    assert problems == []
    per_account = Counter(c.account_id for c in contacts.values())
    assert {aid: n for aid in accounts if not 2 <= (n := per_account[aid]) <= 4} == {}
    globex_no_outreach = [c for c in contacts.values()
                          if c.account_id == "GLOBEX-002" and "sales_outreach" not in c.consent]
    assert [c.consent for c in globex_no_outreach] == [["sales_insights"]]
    assert len([c for c in contacts.values() if c.account_id == "INITECH-003" and not c.consent]) == 1


def test_opportunities(corpus: Corpus) -> None:
    accounts, opps = corpus.of_kind("account"), corpus.of_kind("opportunity")
    problems = []
    for oid, o in opps.items():
        problems += check_access_metadata(f"opportunity {oid}", o.owner, o.team, o.visibility)
        problems += check_times(f"opportunity {oid}", o.fields)
        account = accounts.get(o.account_id or "")
        if account is None:
            problems.append(f"opportunity {oid}: unknown account {o.account_id}")
        elif (o.team, o.owner) != (account.team, account.owner):
            problems.append(f"opportunity {oid}: owner/team differ from its account")
        if o.stage not in STAGES:
            problems.append(f"opportunity {oid}: bad stage {o.stage!r}")
        if not DATE.match(o.fields["close_date"]):
            problems.append(f"opportunity {oid}: bad close_date {o.fields['close_date']!r}")
        if not (o.fields["amount"].isdigit() and o.fields["probability"].isdigit()):
            problems.append(f"opportunity {oid}: amount/probability not integers")
    assert problems == []
    per_account = Counter(o.account_id for o in opps.values())
    assert {aid: n for aid in accounts if not 1 <= (n := per_account[aid]) <= 2} == {}


def _links(corpus: Corpus, where: str, account: str, opportunity: str, contact: str) -> list[str]:
    accounts, opps, contacts = corpus.of_kind("account"), corpus.of_kind("opportunity"), corpus.of_kind("contact")
    problems = [] if account in accounts else [f"{where}: unknown account {account!r}"]
    if opportunity and (opportunity not in opps or opps[opportunity].account_id != account):
        problems.append(f"{where}: opportunity {opportunity!r} unknown or of another account")
    if contact and (contact not in contacts or contacts[contact].account_id != account):
        problems.append(f"{where}: contact {contact!r} unknown or of another account")
    return problems


def test_notes_link_up_and_carry_the_planted_payment_data(corpus: Corpus) -> None:
    notes = corpus.rows("note")
    problems = []
    for nid, n in notes.items():
        problems += check_access_metadata(f"note {nid}", n["author"], [n["team"]], n["visibility"])
        problems += check_times(f"note {nid}", n)
        problems += _links(corpus, f"note {nid}", n["account_id"], n["opportunity_id"], n["contact_id"])
        if not 40 <= len(n["body"].split()) <= 250:
            problems.append(f"note {nid}: body has {len(n['body'].split())} words (expected 40-250)")
        if n["account_id"] == "UMBRELLA-004" and n["visibility"] != "private":
            problems.append(f"note {nid}: UMBRELLA-004 notes must be private")
    assert problems == []
    assert len(notes) >= 36
    assert len([nid for nid, n in notes.items() if TEST_CARD in n["body"]]) == 1
    assert len([nid for nid, n in notes.items() if TEST_IBAN in n["body"]]) == 1
    assert luhn_ok(TEST_CARD.replace(" ", "")) and iban_ok(TEST_IBAN.replace(" ", ""))
    assert set(corpus.of_kind("account")) - {n["account_id"] for n in notes.values()} == set()


def test_activities(corpus: Corpus) -> None:
    raw = json.loads((CRM / "activities.json").read_text(encoding="utf-8"))
    assert [a["activity_id"] for a in raw if list(a) != ACTIVITY_KEYS] == []
    assert len({a["activity_id"] for a in raw}) == len(raw), "duplicate activity ids"
    activities = corpus.rows("activity")
    problems = []
    for aid, a in activities.items():
        problems += check_access_metadata(f"activity {aid}", a["owner"], [a["team"]], a["visibility"])
        problems += check_times(f"activity {aid}", a)
        problems += _links(corpus, f"activity {aid}", a["account_id"], a["opportunity_id"] or "",
                           a["contact_id"] or "")
        if a["type"] not in {"call", "meeting", "email", "task"}:
            problems.append(f"activity {aid}: bad type {a['type']!r}")
        if a["account_id"] == "UMBRELLA-004" and a["visibility"] != "private":
            problems.append(f"activity {aid}: UMBRELLA-004 activities must be private")
    assert problems == []
    assert len(activities) >= 15 and set(activities) == {a["activity_id"] for a in raw}
    assert {a["team"] for a in activities.values()} <= ALL_TEAMS
