#!/usr/bin/env python3
"""Consistency checks for the Sidekick demo corpus and its labelled evaluation sets.

Standard library only. Run from anywhere:

    python3 eval/datasets/check_demo_corpus.py

Exits 0 when every check passes and 1 otherwise, listing each problem found.
"""

from __future__ import annotations

import csv
import email
import email.policy
import email.utils
import io
import json
import re
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = ROOT / "ingest" / "demo_corpus"
CRM = CORPUS / "crm"

PRINCIPALS = {
    "u-maria": {"t-enterprise"},
    "u-james": {"t-midmarket"},
    "u-priya": {"t-enterprise"},
    "u-lena": {"t-enterprise", "t-midmarket"},
    "u-tom": {"t-public-sector"},
}
ALL_TEAMS = {"t-enterprise", "t-midmarket", "t-public-sector"}
VISIBILITY = {"public", "team", "private"}
STAGES = {"Prospecting", "Discovery", "Demo", "Proposal", "Negotiation", "Closed Won", "Closed Lost"}
CONSENT_PURPOSES = {"sales_outreach", "sales_insights"}
ACTIONS = {"summary", "email_draft", "field_fill", "compliance_check", "qa"}

HEADERS = {
    "accounts.csv": "account_id,name,industry,region,owner,team,visibility,annual_revenue,employees,website,created_at,updated_at,description",
    "contacts.csv": "contact_id,account_id,first_name,last_name,title,email,phone,owner,consent,created_at,updated_at",
    "opportunities.csv": "opportunity_id,account_id,name,stage,amount,currency,close_date,probability,owner,team,visibility,next_step,competitor,created_at,updated_at,description",
    "notes.csv": "note_id,account_id,opportunity_id,contact_id,author,team,visibility,created_at,updated_at,subject,body",
}
ACTIVITY_KEYS = ["activity_id", "type", "account_id", "opportunity_id", "contact_id", "owner", "team",
                 "visibility", "occurred_at", "subject", "description"]

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
EMAIL_FIND = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
SSN_RE = re.compile(r"^\d{3}-\d{2}-\d{4}$")
NINO_RE = re.compile(r"^[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]$")
CARD_FIND = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")

errors: list[str] = []
info: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    s = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    rearranged = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in rearranged)
    return int(num) % 97 == 1


def word_count(text: str) -> int:
    return len(text.split())


# --------------------------------------------------------------------------- CRM

def read_csv(name: str) -> list[dict[str, str]]:
    path = CRM / name
    if not path.exists():
        err(f"missing {path}")
        return []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        err(f"{name}: not UTF-8 ({exc})")
        return []
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        err(f"{name}: empty")
        return []
    if ",".join(rows[0]) != HEADERS[name]:
        err(f"{name}: header mismatch\n  got:      {','.join(rows[0])}\n  expected: {HEADERS[name]}")
    header = HEADERS[name].split(",")
    out = []
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            err(f"{name} row {i}: {len(r)} fields, expected {len(header)}")
            continue
        out.append(dict(zip(header, r)))
    return out


def check_common(kind: str, rid: str, row: dict, owner_key: str = "owner", need_team: bool = True) -> None:
    if row.get(owner_key) not in PRINCIPALS:
        err(f"{kind} {rid}: unknown owner/author {row.get(owner_key)!r}")
    if need_team and row.get("team") not in ALL_TEAMS:
        err(f"{kind} {rid}: unknown team {row.get('team')!r}")
    if "visibility" in row and row["visibility"] not in VISIBILITY:
        err(f"{kind} {rid}: bad visibility {row['visibility']!r}")
    for k in ("created_at", "updated_at", "occurred_at"):
        if k in row and not TS_RE.match(row[k] or ""):
            err(f"{kind} {rid}: {k} not ISO-8601 UTC: {row[k]!r}")
    if "created_at" in row and "updated_at" in row and row["updated_at"] < row["created_at"]:
        err(f"{kind} {rid}: updated_at before created_at")


accounts = {r["account_id"]: r for r in read_csv("accounts.csv")}
contacts = {r["contact_id"]: r for r in read_csv("contacts.csv")}
opps = {r["opportunity_id"]: r for r in read_csv("opportunities.csv")}
notes_rows = read_csv("notes.csv")
notes = {r["note_id"]: r for r in notes_rows}
if len(notes) != len(notes_rows):
    err("notes.csv: duplicate note_id")

for aid, a in accounts.items():
    check_common("account", aid, a)
    for k in ("annual_revenue", "employees"):
        if not a[k].isdigit():
            err(f"account {aid}: {k} not an integer")
if len(accounts) < 4:
    err(f"need at least 4 accounts, found {len(accounts)}")
for need, vis in (("ACME-001", "team"), ("GLOBEX-002", "team"), ("INITECH-003", "team"), ("UMBRELLA-004", "private")):
    if need not in accounts:
        err(f"missing account {need}")
    elif accounts[need]["visibility"] != vis:
        err(f"account {need}: visibility should be {vis}")

for cid, c in contacts.items():
    check_common("contact", cid, c, need_team=False)
    if c["account_id"] not in accounts:
        err(f"contact {cid}: unknown account {c['account_id']}")
    if not EMAIL_RE.match(c["email"]):
        err(f"contact {cid}: bad email {c['email']!r}")
    parts = [p for p in c["consent"].split(";") if p] if c["consent"] else []
    if any(p not in CONSENT_PURPOSES for p in parts):
        err(f"contact {cid}: bad consent {c['consent']!r}")
per_account = Counter(c["account_id"] for c in contacts.values())
for aid in accounts:
    if not 2 <= per_account[aid] <= 4:
        err(f"account {aid}: {per_account[aid]} contacts (expected 2-4)")
glx_no_outreach = [c for c in contacts.values() if c["account_id"] == "GLOBEX-002" and "sales_outreach" not in c["consent"]]
if len(glx_no_outreach) != 1 or glx_no_outreach[0]["consent"] != "sales_insights":
    err("GLOBEX-002 must have exactly one contact with consent 'sales_insights' only")
ini_empty = [c for c in contacts.values() if c["account_id"] == "INITECH-003" and c["consent"] == ""]
if len(ini_empty) != 1:
    err("INITECH-003 must have exactly one contact with empty consent")

for oid, o in opps.items():
    check_common("opportunity", oid, o)
    if o["account_id"] not in accounts:
        err(f"opportunity {oid}: unknown account {o['account_id']}")
    if o["stage"] not in STAGES:
        err(f"opportunity {oid}: bad stage {o['stage']!r}")
    if not DATE_RE.match(o["close_date"]):
        err(f"opportunity {oid}: bad close_date {o['close_date']!r}")
    if not o["amount"].isdigit() or not o["probability"].isdigit():
        err(f"opportunity {oid}: amount/probability not integers")
    acc = accounts.get(o["account_id"])
    if acc and (o["team"] != acc["team"] or o["owner"] != acc["owner"]):
        err(f"opportunity {oid}: owner/team differ from its account")
per_account = Counter(o["account_id"] for o in opps.values())
for aid in accounts:
    if not 1 <= per_account[aid] <= 2:
        err(f"account {aid}: {per_account[aid]} opportunities (expected 1-2)")


def check_links(kind: str, rid: str, acc: str, opp: str, con: str) -> None:
    if acc not in accounts:
        err(f"{kind} {rid}: unknown account {acc!r}")
    if opp:
        if opp not in opps:
            err(f"{kind} {rid}: unknown opportunity {opp!r}")
        elif opps[opp]["account_id"] != acc:
            err(f"{kind} {rid}: opportunity {opp} belongs to another account")
    if con:
        if con not in contacts:
            err(f"{kind} {rid}: unknown contact {con!r}")
        elif contacts[con]["account_id"] != acc:
            err(f"{kind} {rid}: contact {con} belongs to another account")


card_notes, iban_notes = [], []
for nid, n in notes.items():
    check_common("note", nid, n, owner_key="author")
    check_links("note", nid, n["account_id"], n["opportunity_id"], n["contact_id"])
    wc = word_count(n["body"])
    if not 40 <= wc <= 250:
        err(f"note {nid}: body has {wc} words (expected 40-250)")
    if n["account_id"] == "UMBRELLA-004" and n["visibility"] != "private":
        err(f"note {nid}: UMBRELLA-004 notes must be private")
    if "4111 1111 1111 1111" in n["body"]:
        card_notes.append(nid)
    if "DE89 3704 0044 0532 0130 00" in n["body"]:
        iban_notes.append(nid)
if len(notes) < 36:
    err(f"need at least 36 notes, found {len(notes)}")
if len(card_notes) != 1:
    err(f"test card number must appear in exactly one note, found {card_notes}")
if not luhn_ok("4111111111111111"):
    err("test card is not Luhn-valid")
if len(iban_notes) != 1:
    err(f"IBAN must appear in exactly one note, found {iban_notes}")
if not iban_ok("DE89 3704 0044 0532 0130 00"):
    err("IBAN checksum invalid")
missing_note_accounts = set(accounts) - {n["account_id"] for n in notes.values()}
if missing_note_accounts:
    err(f"accounts without notes: {sorted(missing_note_accounts)}")

activities: dict[str, dict] = {}
try:
    acts = json.loads((CRM / "activities.json").read_text(encoding="utf-8"))
    if not isinstance(acts, list):
        raise ValueError("not a JSON array")
    for a in acts:
        if list(a.keys()) != ACTIVITY_KEYS:
            err(f"activity {a.get('activity_id')}: keys {list(a.keys())} != {ACTIVITY_KEYS}")
        aid = a.get("activity_id")
        if aid in activities:
            err(f"activity {aid}: duplicate id")
        activities[aid] = a
        if a.get("type") not in {"call", "meeting", "email", "task"}:
            err(f"activity {aid}: bad type {a.get('type')!r}")
        check_common("activity", aid, a)
        check_links("activity", aid, a["account_id"], a["opportunity_id"] or "", a["contact_id"] or "")
        if a["account_id"] == "UMBRELLA-004" and a["visibility"] != "private":
            err(f"activity {aid}: UMBRELLA-004 activities must be private")
    if len(activities) < 15:
        err(f"need at least 15 activities, found {len(activities)}")
except Exception as exc:  # noqa: BLE001
    err(f"activities.json: {exc}")

# --------------------------------------------------------------------------- sidecars

def load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001
        err(f"{path.relative_to(CORPUS)}: invalid JSON ({exc})")
        return None


def check_record_meta(path: Path, meta: dict, keys: list[str]) -> None:
    rel = path.relative_to(CORPUS)
    for k in keys:
        if k not in meta:
            err(f"{rel}: sidecar missing key {k!r}")
    if meta.get("visibility") not in VISIBILITY:
        err(f"{rel}: bad visibility")
    if meta.get("owner") not in PRINCIPALS:
        err(f"{rel}: bad owner")
    if "team" in meta and meta["team"] not in ALL_TEAMS:
        err(f"{rel}: bad team")
    acc = meta.get("account_id")
    if acc is not None:
        if acc not in accounts:
            err(f"{rel}: unknown account {acc}")
        opp = meta.get("opportunity_id")
        if opp is not None and (opp not in opps or opps[opp]["account_id"] != acc):
            err(f"{rel}: bad opportunity {opp}")
        for c in meta.get("contact_ids", []):
            if c not in contacts or contacts[c]["account_id"] != acc:
                err(f"{rel}: bad contact {c}")
        if acc == "UMBRELLA-004" and meta.get("visibility") != "private":
            err(f"{rel}: UMBRELLA-004 material must be private")
        if acc in accounts and meta.get("team") and meta["team"] != accounts[acc]["team"]:
            err(f"{rel}: team differs from account team")
    if "occurred_at" in meta and not TS_RE.match(meta["occurred_at"] or ""):
        err(f"{rel}: occurred_at not ISO-8601 UTC")


# --------------------------------------------------------------------------- transcripts
TXT_LINE = re.compile(r"^\[(\d{2}):(\d{2}):(\d{2})\] ([^:]+): (.+)$")
VTT_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2}):(\d{2}):(\d{2})\.(\d{3})$")
SRT_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2}):(\d{2}):(\d{2}),(\d{3})$")
VTT_VOICE = re.compile(r"^<v ([^>]+)>(.+)$")
SRT_TEXT = re.compile(r"^([^:]+): (.+)$")


def secs(g) -> tuple[float, float]:
    g = [int(x) for x in g]
    return g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000, g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000


def parse_txt(text: str) -> list[tuple[str, str]]:
    turns, last = [], -1
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = TXT_LINE.match(line)
        if not m:
            raise ValueError(f"line {i} not '[hh:mm:ss] Speaker: text'")
        t = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])
        if t < last:
            raise ValueError(f"line {i} goes back in time")
        last = t
        turns.append((m[4], m[5]))
    return turns


def parse_cues(text: str, timing: re.Pattern, voice: re.Pattern, header: str | None) -> list[tuple[str, str]]:
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    if header is not None:
        if not blocks or not blocks[0].startswith(header):
            raise ValueError("missing WEBVTT header")
        blocks = blocks[1:]
    turns, last_end, expect = [], -1.0, 1
    for b in blocks:
        lines = b.splitlines()
        if lines[0].startswith("NOTE"):
            continue
        if header is None or lines[0].strip().isdigit():
            if not lines[0].strip().isdigit():
                raise ValueError(f"cue without number: {lines[0]!r}")
            if header is None and int(lines[0]) != expect:
                raise ValueError(f"cue number {lines[0]} out of sequence (expected {expect})")
            expect += 1
            lines = lines[1:]
        m = timing.match(lines[0])
        if not m:
            raise ValueError(f"bad timing line {lines[0]!r}")
        start, end = secs(m.groups())
        if end <= start or start < last_end:
            raise ValueError(f"bad cue times at {lines[0]!r}")
        last_end = end
        body = " ".join(lines[1:])
        v = voice.match(body)
        if not v:
            raise ValueError(f"cue text without speaker: {body!r}")
        turns.append((v[1], v[2]))
    return turns


def parse_recorder_json(text: str) -> list[tuple[str, str]]:
    data = json.loads(text)
    for k in ("call_id", "title", "started_at", "participants", "utterances"):
        if k not in data:
            raise ValueError(f"missing key {k}")
    if not TS_RE.match(data["started_at"]):
        raise ValueError("started_at not ISO-8601")
    names = set()
    for p in data["participants"]:
        if set(p) != {"name", "role", "email"} or p["role"] not in {"seller", "customer"} or not EMAIL_RE.match(p["email"]):
            raise ValueError(f"bad participant {p}")
        names.add(p["name"])
    last = -1.0
    turns = []
    for u in data["utterances"]:
        if set(u) != {"speaker", "start", "end", "text"}:
            raise ValueError(f"bad utterance keys {sorted(u)}")
        if u["speaker"] not in names:
            raise ValueError(f"speaker {u['speaker']!r} not in participants")
        if not (isinstance(u["start"], (int, float)) and isinstance(u["end"], (int, float))) or u["end"] <= u["start"] or u["start"] < last:
            raise ValueError(f"bad utterance times {u['start']}-{u['end']}")
        last = u["end"]
        turns.append((u["speaker"], u["text"]))
    return turns


transcripts = sorted(p for p in (CORPUS / "transcripts").iterdir() if not p.name.endswith(".meta.json"))
fmt_count = Counter(p.suffix for p in transcripts)
for ext, need in ((".txt", 3), (".vtt", 2), (".srt", 2), (".json", 2)):
    if fmt_count[ext] < need:
        err(f"transcripts: need at least {need} {ext}, found {fmt_count[ext]}")
if len(transcripts) < 9:
    err(f"need at least 9 transcripts, found {len(transcripts)}")
for p in transcripts:
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix == ".txt":
            turns = parse_txt(text)
        elif p.suffix == ".vtt":
            turns = parse_cues(text, VTT_TIME, VTT_VOICE, "WEBVTT")
        elif p.suffix == ".srt":
            turns = parse_cues(text, SRT_TIME, SRT_TEXT, None)
        elif p.suffix == ".json":
            turns = parse_recorder_json(text)
        else:
            raise ValueError("unknown transcript format")
        if not 25 <= len(turns) <= 70:
            err(f"transcripts/{p.name}: {len(turns)} turns (expected 25-70)")
        if len({s for s, _ in turns}) < 2:
            err(f"transcripts/{p.name}: fewer than 2 speakers")
        if not re.search(r"record", " ".join(t for _, t in turns[:3]), re.I):
            err(f"transcripts/{p.name}: no recording disclosure in the first turns")
    except Exception as exc:  # noqa: BLE001
        err(f"transcripts/{p.name}: parse error: {exc}")
    side = p.with_name(p.name + ".meta.json")
    if not side.exists():
        err(f"transcripts/{p.name}: missing sidecar")
        continue
    meta = load_json(side)
    if meta is not None:
        check_record_meta(side, meta, ["title", "account_id", "opportunity_id", "contact_ids", "owner", "team", "visibility", "occurred_at"])

# --------------------------------------------------------------------------- emails
emails = sorted((CORPUS / "emails").glob("*.eml"))
if len(emails) < 6:
    err(f"need at least 6 emails, found {len(emails)}")
for p in emails:
    raw = p.read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for h in ("From", "To", "Subject", "Date", "Message-ID"):
        if not msg[h]:
            err(f"emails/{p.name}: missing header {h}")
    if msg.get_content_type() != "text/plain" or (msg.get_content_charset() or "").lower() != "utf-8":
        err(f"emails/{p.name}: Content-Type must be text/plain; charset=utf-8")
    try:
        email.utils.parsedate_to_datetime(msg["Date"])
    except Exception as exc:  # noqa: BLE001
        err(f"emails/{p.name}: bad Date ({exc})")
    for h in ("From", "To", "Cc"):
        for _, addr in email.utils.getaddresses([str(msg[h])] if msg[h] else []):
            if not EMAIL_RE.match(addr):
                err(f"emails/{p.name}: bad address in {h}: {addr!r}")
    body = msg.get_content()
    if "\n> " not in body and "\n>\n" not in body:
        err(f"emails/{p.name}: no quoted reply ('> ')")
    side = p.with_name(p.name + ".meta.json")
    if not side.exists():
        err(f"emails/{p.name}: missing sidecar")
        continue
    meta = load_json(side)
    if meta is not None:
        check_record_meta(side, meta, ["account_id", "opportunity_id", "contact_ids", "owner", "team", "visibility"])

# --------------------------------------------------------------------------- docs
REQUIRED_DOCS = [
    "product/helio-fleet-overview.md", "product/pricing-and-packaging.md", "product/security-and-compliance.md",
    "product/api-and-integrations.md", "product/faq.html", "product/release-notes-2026.md",
    "policy/sales-policy.md", "policy/data-handling-policy.md", "contracts/acme-msa-2025.md",
]


class TagCounter(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = Counter()
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1

    def handle_data(self, data):
        self.text.append(data)


for rel in REQUIRED_DOCS:
    p = CORPUS / "docs" / rel
    if not p.exists():
        err(f"missing doc docs/{rel}")
        continue
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".html":
        tc = TagCounter()
        tc.feed(text)
        for tag in ("h1", "h2", "p", "ul"):
            if not tc.tags[tag]:
                err(f"docs/{rel}: no <{tag}>")
        wc = word_count(" ".join(tc.text))
    else:
        if not re.search(r"^# ", text, re.M) or not re.search(r"^## ", text, re.M):
            err(f"docs/{rel}: missing # / ## headings")
        wc = word_count(text)
    if rel.startswith("product/") and not 400 <= wc <= 1200:
        err(f"docs/{rel}: {wc} words (expected 400-1200)")
    side = p.with_name(p.name + ".meta.json")
    if not side.exists():
        err(f"docs/{rel}: missing sidecar")
        continue
    meta = load_json(side)
    if meta is None:
        continue
    for k in ("title", "doc_type", "visibility", "owner"):
        if k not in meta:
            err(f"docs/{rel}: sidecar missing {k}")
    if meta.get("doc_type") not in {"product_doc", "policy", "contract"}:
        err(f"docs/{rel}: bad doc_type")
    if meta.get("doc_type") == "contract":
        if meta.get("account_id") not in accounts or meta.get("visibility") != "team" or meta.get("team") != accounts.get(meta.get("account_id"), {}).get("team"):
            err(f"docs/{rel}: contract sidecar needs account_id, visibility team and the account's team")
    elif meta.get("visibility") != "public":
        err(f"docs/{rel}: should be public")

policy_text = (CORPUS / "docs/policy/sales-policy.md").read_text(encoding="utf-8")
POLICY_CLAUSES = set(re.findall(r"^(\d+\.\d+) ", policy_text, re.M))
for c in ("3.1", "3.2", "3.3", "3.4", "3.5", "4.1", "4.2", "4.3", "4.4", "4.5", "5.1", "5.2", "5.3", "6.1", "6.2"):
    if c not in POLICY_CLAUSES:
        err(f"sales policy: clause {c} missing")

# --------------------------------------------------------------------------- visibility

def can_see(user: str, teams: set[str], owner: str, team: str, visibility: str) -> bool:
    if visibility == "public":
        return True
    if visibility == "team":
        return team in teams
    return owner == user


FILES: dict[str, dict] = {}
for p in CORPUS.rglob("*"):
    if p.is_file() and not p.name.endswith(".meta.json") and "crm" not in p.relative_to(CORPUS).parts:
        rel = p.relative_to(CORPUS).as_posix()
        side = p.with_name(p.name + ".meta.json")
        FILES[rel] = json.loads(side.read_text(encoding="utf-8")) if side.exists() else {}


def source_acl(sid: str):
    """(owner, team, visibility) for a source id, or None when it does not resolve."""
    kind, _, key = sid.partition(":")
    if kind == "note" and key in notes:
        n = notes[key]
        return n["author"], n["team"], n["visibility"]
    if kind == "activity" and key in activities:
        a = activities[key]
        return a["owner"], a["team"], a["visibility"]
    if kind == "account" and key in accounts:
        a = accounts[key]
        return a["owner"], a["team"], a["visibility"]
    if kind == "opportunity" and key in opps:
        o = opps[key]
        return o["owner"], o["team"], o["visibility"]
    if kind == "contact" and key in contacts:
        a = accounts[contacts[key]["account_id"]]
        return contacts[key]["owner"], a["team"], a["visibility"]
    if kind == "file" and key in FILES:
        m = FILES[key]
        return m.get("owner"), m.get("team"), m.get("visibility", "public")
    if kind == "document":
        return source_acl(key)
    return None


# --------------------------------------------------------------------------- eval sets
ROW_KEYS = ["id", "action", "tenant", "user", "teams", "record", "inputs", "reference", "relevant_doc_ids", "notes"]


def load_jsonl(name: str) -> list[dict]:
    path = HERE / name
    if not path.exists():
        err(f"missing eval/datasets/{name}")
        return []
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            err(f"{name} line {i}: {exc}")
    return rows


all_ids: set[str] = set()


def check_rows(name: str, action: str, minimum: int) -> list[dict]:
    rows = load_jsonl(name)
    if len(rows) < minimum:
        err(f"{name}: {len(rows)} rows, need at least {minimum}")
    for r in rows:
        rid = r.get("id")
        if list(r.keys()) != ROW_KEYS:
            err(f"{name} {rid}: keys {list(r.keys())} != {ROW_KEYS}")
            continue
        if rid in all_ids:
            err(f"{name} {rid}: duplicate id")
        all_ids.add(rid)
        if r["action"] != action or r["tenant"] != "demo":
            err(f"{name} {rid}: action/tenant wrong")
        user, teams = r["user"], set(r["teams"])
        if user not in PRINCIPALS or not teams or not teams <= PRINCIPALS[user]:
            err(f"{name} {rid}: user/teams invalid ({user}, {sorted(teams)})")
            continue
        permission_test = "Permission test" in r["notes"]
        if r["record"] is not None:
            acl = source_acl(r["record"])
            if acl is None:
                err(f"{name} {rid}: record {r['record']} does not resolve")
            elif not can_see(user, teams, *acl):
                err(f"{name} {rid}: {user} cannot see record {r['record']}")
        for sid in r["relevant_doc_ids"]:
            acl = source_acl(sid)
            if acl is None:
                err(f"{name} {rid}: relevant_doc_id {sid} does not resolve")
            elif not permission_test and not can_see(user, teams, *acl):
                err(f"{name} {rid}: {user} cannot see relevant source {sid}")
        if not r["notes"]:
            err(f"{name} {rid}: empty notes")
    return rows


qa_rows = check_rows("demo_qa.jsonl", "qa", 30)
answerable = [r for r in qa_rows if r["reference"].get("answerable") is True]
unanswerable = [r for r in qa_rows if r["reference"].get("answerable") is False]
for r in qa_rows:
    ref = r["reference"]
    if not r["inputs"].get("question"):
        err(f"qa {r['id']}: no question")
    if ref.get("answerable") is True and not ref.get("answer"):
        err(f"qa {r['id']}: answerable without answer")
    if ref.get("answerable") is False and ref.get("answer") is not None:
        err(f"qa {r['id']}: unanswerable must have answer null")
    if ref.get("answerable") is True and not r["relevant_doc_ids"]:
        err(f"qa {r['id']}: answerable without relevant_doc_ids")
if len(answerable) < 20 or len(unanswerable) < 8:
    err(f"qa: {len(answerable)} answerable / {len(unanswerable)} unanswerable (need 20 / 8)")

ff_rows = check_rows("demo_field_fill.jsonl", "field_fill", 12)
null_fields = 0
for r in ff_rows:
    specs = {f["name"]: f for f in r["inputs"].get("fields", [])}
    ref = r["reference"].get("fields", {})
    if set(specs) != set(ref):
        err(f"field_fill {r['id']}: reference fields {sorted(ref)} != input fields {sorted(specs)}")
    for fname, val in ref.items():
        spec = specs.get(fname)
        if spec is None:
            continue
        t = spec.get("type")
        if val is None:
            null_fields += 1
            continue
        ok = {
            "currency": isinstance(val, dict) and isinstance(val.get("value"), (int, float)) and val.get("currency") == "USD",
            "number": isinstance(val, (int, float)) and not isinstance(val, bool),
            "boolean": isinstance(val, bool),
            "date": isinstance(val, str) and bool(DATE_RE.match(val)),
            "text": isinstance(val, str) and bool(val),
            "picklist": isinstance(val, str) and val in spec.get("allowed_values", []),
        }.get(t)
        if not ok:
            err(f"field_fill {r['id']}: field {fname} ({t}) has invalid value {val!r}")
if null_fields < 5:
    err(f"field_fill: only {null_fields} unknown (null) fields; need several")

cc_rows = check_rows("demo_compliance.jsonl", "compliance_check", 16)
violating = 0
areas = set()
for r in cc_rows:
    draft = r["inputs"].get("draft", "")
    verdicts = r["reference"].get("verdicts")
    compliant = r["reference"].get("compliant")
    if compliant is not (not verdicts):
        err(f"compliance {r['id']}: compliant flag disagrees with verdicts")
    if verdicts:
        violating += 1
    if r["record"] is None or not r["record"].startswith("account:"):
        err(f"compliance {r['id']}: record must be the account concerned")
    for v in verdicts or []:
        if v.get("clause") not in POLICY_CLAUSES:
            err(f"compliance {r['id']}: unknown clause {v.get('clause')}")
        else:
            areas.add(v["clause"].split(".")[0])
        if v.get("verdict") != "violation":
            err(f"compliance {r['id']}: verdict must be 'violation'")
        if not v.get("span") or v["span"] not in draft:
            err(f"compliance {r['id']}: span not found verbatim in draft: {v.get('span')!r}")
if cc_rows and not (0.4 <= violating / len(cc_rows) <= 0.6):
    err(f"compliance: {violating}/{len(cc_rows)} violating rows; aim for about half")
for area in ("3", "4", "5", "6"):
    if area not in areas:
        err(f"compliance: no violation for policy section {area}")

sum_rows = check_rows("demo_summary.jsonl", "summary", 6)
kinds = Counter()
for r in sum_rows:
    ref = r["reference"]
    wc = word_count(ref.get("answer", ""))
    if not 60 <= wc <= 120:
        err(f"summary {r['id']}: reference answer has {wc} words (expected 60-120)")
    if not ref.get("key_facts"):
        err(f"summary {r['id']}: no key_facts")
    kinds[(r["record"] or "").split(":")[0]] += 1
for k in ("account", "opportunity", "document"):
    if not kinds[k]:
        err(f"summary: no case with a {k} record")

email_rows = check_rows("demo_email.jsonl", "email_draft", 5)
for r in email_rows:
    inp, ref = r["inputs"], r["reference"]
    if inp.get("contact_id") not in contacts:
        err(f"email {r['id']}: unknown contact {inp.get('contact_id')}")
    if inp.get("tone") not in {"friendly", "formal"} or inp.get("length") not in {"short", "medium"} or not inp.get("context"):
        err(f"email {r['id']}: bad inputs")
    if not isinstance(ref.get("must_mention"), list) or not isinstance(ref.get("must_not_mention"), list):
        err(f"email {r['id']}: must_mention / must_not_mention must be lists")
    c = contacts.get(inp.get("contact_id"), {})
    if ref.get("expect_refusal") is False and "sales_outreach" not in c.get("consent", ""):
        err(f"email {r['id']}: contact lacks sales_outreach but refusal not expected")

# PII
pii_rows = load_jsonl("pii_labelled.jsonl")
if len(pii_rows) < 40:
    err(f"pii_labelled: {len(pii_rows)} rows, need at least 40")
types_seen, negatives, pii_ids = Counter(), 0, set()
for r in pii_rows:
    rid, text, spans = r.get("id"), r.get("text", ""), r.get("spans", [])
    if set(r) != {"id", "text", "spans"}:
        err(f"pii {rid}: keys {sorted(r)}")
    if rid in pii_ids:
        err(f"pii {rid}: duplicate id")
    pii_ids.add(rid)
    if not spans:
        negatives += 1
    last_end = 0
    for s in sorted(spans, key=lambda s: s["start"]):
        st, en, ty = s.get("start"), s.get("end"), s.get("type")
        if not (isinstance(st, int) and isinstance(en, int) and 0 <= st < en <= len(text)):
            err(f"pii {rid}: span out of range {s}")
            continue
        if st < last_end:
            err(f"pii {rid}: overlapping spans")
        last_end = en
        val = text[st:en]
        types_seen[ty] += 1
        if val != val.strip():
            err(f"pii {rid}: span has surrounding whitespace {val!r}")
        if (st > 0 and text[st - 1].isalnum()) or (en < len(text) and text[en].isalnum()):
            err(f"pii {rid}: span {val!r} cuts through a word")
        digits = re.sub(r"\D", "", val)
        ok = {
            "EMAIL": bool(EMAIL_RE.match(val)),
            "PHONE": 7 <= len(digits) <= 15 and bool(re.fullmatch(r"[+\d() .-]+", val)),
            "CARD": 13 <= len(digits) <= 19 and luhn_ok(digits) and bool(re.fullmatch(r"[\d -]+", val)),
            "IBAN": iban_ok(val),
            "NATIONAL_ID": bool(SSN_RE.match(val) or NINO_RE.match(val)),
            "PERSON": bool(re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)*", val)),
        }.get(ty)
        if not ok:
            err(f"pii {rid}: span {val!r} is not a valid {ty}")
    # unlabelled emails or Luhn-valid card numbers would be gold-label omissions
    labelled = [(s["start"], s["end"]) for s in spans]
    def covered(a, b):
        return any(x <= a and b <= y for x, y in labelled)
    for m in EMAIL_FIND.finditer(text):
        if not covered(m.start(), m.end()):
            err(f"pii {rid}: unlabelled email {m.group()!r}")
    for m in CARD_FIND.finditer(text):
        d = re.sub(r"\D", "", m.group())
        part_of_iban = re.search(r"[A-Z]{2}\d{2} ?$", text[:m.start()]) is not None
        if luhn_ok(d) and d.strip("0") and not part_of_iban and not covered(m.start(), m.end()):
            err(f"pii {rid}: unlabelled Luhn-valid number {m.group()!r}")
for ty in ("EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "PERSON"):
    if not types_seen[ty]:
        err(f"pii: no {ty} examples")
if negatives < 8:
    err(f"pii: only {negatives} negative samples")

# README
readme = HERE / "README.md"
if not readme.exists():
    err("missing eval/datasets/README.md")
else:
    rt = readme.read_text(encoding="utf-8")
    for n in ("demo_qa.jsonl", "demo_field_fill.jsonl", "demo_compliance.jsonl", "demo_summary.jsonl", "demo_email.jsonl", "pii_labelled.jsonl"):
        if n not in rt:
            err(f"README.md does not document {n}")

# --------------------------------------------------------------------------- report
print(f"accounts {len(accounts)}, contacts {len(contacts)}, opportunities {len(opps)}, notes {len(notes)}, activities {len(activities)}")
print(f"transcripts {len(transcripts)} {dict(fmt_count)}, emails {len(emails)}, docs {len(REQUIRED_DOCS)}")
print(f"qa {len(qa_rows)} ({len(answerable)} answerable, {len(unanswerable)} unanswerable), field_fill {len(ff_rows)} ({null_fields} null fields), "
      f"compliance {len(cc_rows)} ({violating} violating), summary {len(sum_rows)}, email {len(email_rows)}, pii {len(pii_rows)} ({negatives} negatives)")
if errors:
    print(f"\nFAILED: {len(errors)} problem(s)")
    for e in errors:
        print(" -", e)
    sys.exit(1)
print("\nOK: all checks passed")
