"""Is the state that decides the count what the event chain says it is?

The event chain (:meth:`Workspace.verify_chain`) shows an event changed,
inserted or removed. This module checks the rows that decide the count
against that chain, so that a row changed, inserted or deleted behind the
software's back (triggers dropped, a file edited) is seen:

* **rulings** — every ruling row has its ``ruling`` event (same line, person,
  kind, action, reason, note, superseded ruling) and every such event its
  row;
* **determinations** — each triage commit's rows hash to the digest its
  ``triage`` event recorded (commits made before sealing are reported as
  unsealed, not as altered);
* **samples** — each sample row matches its ``sample_drawn`` event, and each
  item's ticket is the one the public seed gives that line (so an item
  added, removed or changed is seen: the draw is reproducible);
* **section rulings** — every ruling on a whole section has its
  ``section_ruled`` event (same filing, section, action, code, person) and
  every such event its row;
* **files** — every stored scan and image (loose, or in a crop pack) still
  hashes to the SHA-256 it is stored under.

A chain re-hashed from some event on is caught by an outside anchor: the
chain head printed on the certificate, each report and each backup;
``petitions verify-log --anchor HASH`` checks the chain still passes
through it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from petitions.atomic import file_sha256
from petitions.store import Workspace, canonical_json
from petitions.store import integrity as integrity_db


def determination_rows_digest(rows: list[tuple]) -> str:
    """SHA-256 of determination rows ``(line_id, determination, level,
    reasons_json, inputs_json)``, in any order.

    >>> determination_rows_digest([(2, "valid", "auto", "[]", "{}")]) == determination_rows_digest(
    ...     [(2, "valid", "auto", "[]", "{}")])
    True
    """
    body = canonical_json(sorted([int(r[0]), r[1], r[2], r[3], r[4]] for r in rows))
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class StateCheck:
    ok: bool = True
    checked: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        self.ok = False
        if len(self.problems) < 200:
            self.problems.append(text)


def verify_state(ws: Workspace, *, files: bool = True) -> StateCheck:
    """Check rulings, determinations, samples and stored files against the chain."""
    out = StateCheck()
    _rulings(ws, out)
    _determinations(ws, out)
    _samples(ws, out)
    _section_rulings(ws, out)
    _fraud_scans(ws, out)
    if files:
        _files(ws, out)
    return out


def _rulings(ws: Workspace, out: StateCheck) -> None:
    events = {}
    for e in integrity_db.events_of_kinds(ws, ("ruling",)):
        p = json.loads(e["payload_json"])
        if "ruling_id" in p:
            events[int(p["ruling_id"])] = (e, p)
    rows = integrity_db.rulings(ws)
    out.checked["rulings"] = len(rows)
    seen = set()
    for r in rows:
        seen.add(r["id"])
        hit = events.get(r["id"])
        if hit is None:
            out.fail(f"ruling {r['id']} on line {r['label']} has no event: inserted behind the software's back")
            continue
        e, p = hit
        want = (e["user"], e["line_id"], p.get("kind"), p.get("action"), p.get("reason_code"), p.get("note"),
                p.get("supersedes"))
        have = (r["user"], r["line_id"], r["kind"], r["action"], r["reason_code"], r["note"], r["supersedes"])
        if want != have:
            out.fail(f"ruling {r['id']} on line {r['label']} differs from its event {e['id']}: "
                     f"stored {have[2:5]}, recorded {want[2:5]}")
    for rid, (e, p) in events.items():
        if rid not in seen:
            out.fail(f"ruling {rid} (line {p.get('line')}, event {e['id']}) is missing: deleted")


def _determinations(ws: Workspace, out: StateCheck) -> None:
    sealed = {}
    for e in integrity_db.events_of_kinds(ws, ("triage",)):
        p = json.loads(e["payload_json"])
        if p.get("rows_sha256") and p.get("created_at"):
            sealed[p["created_at"]] = (e["id"], p["rows_sha256"], int(p.get("changed", 0)))
    groups: dict[str, list[tuple]] = {}
    rows = integrity_db.determinations(ws)
    out.checked["determinations"] = len(rows)
    unsealed = 0
    for r in rows:
        if r["level"] == "qa_audit":
            continue  # written with a routed-disagreement event by a supervisor's audit
        groups.setdefault(r["created_at"], []).append(
            (r["line_id"], r["determination"], r["level"], r["reasons_json"], r["inputs_json"]))
    for ts, group in groups.items():
        hit = sealed.pop(ts, None)
        if hit is None:
            unsealed += len(group)
            continue
        eid, digest, n = hit
        if determination_rows_digest(group) != digest:
            out.fail(f"the {len(group)} determinations of the triage run at {ts} (event {eid}, {n} rows) do not "
                     "hash to what the event recorded: changed, inserted or deleted")
    for ts, (eid, _digest, n) in sealed.items():
        if n:
            out.fail(f"the {n} determinations of the triage run at {ts} (event {eid}) are missing: deleted")
    if unsealed:
        out.warnings.append(f"{unsealed:,} determinations were made before determinations were sealed "
                            "(an older version) and cannot be checked")


def _samples(ws: Workspace, out: StateCheck) -> None:
    from petitions.law.sampling import ticket

    drawn = {}
    for e in integrity_db.events_of_kinds(ws, ("sample_drawn",)):
        p = json.loads(e["payload_json"])
        if "sample_id" in p:
            drawn[int(p["sample_id"])] = p
        for pop in p.get("populations", []):
            if pop.get("sample_id") is not None:
                drawn[int(pop["sample_id"])] = {"seed": p.get("seed"), "frame_hash": pop.get("frame_hash"),
                                                "size": pop.get("added"), "frame_size": pop.get("frame_size")}
    samples = {s["id"]: s for s in integrity_db.samples(ws)}
    out.checked["samples"] = len(samples)
    items: dict[int, list[dict]] = {}
    for it in integrity_db.sample_items(ws):
        items.setdefault(it["sample_id"], []).append(it)
    out.checked["sample_items"] = sum(len(v) for v in items.values())
    for sid, s in samples.items():
        p = drawn.get(sid)
        if p is None:
            out.fail(f"sample {sid} has no sample_drawn event: inserted behind the software's back")
            continue
        if (s["seed"], s["frame_hash"], s["size"]) != (p.get("seed"), p.get("frame_hash"), p.get("size")):
            out.fail(f"sample {sid} (seed, frame hash, size) differs from its event")
        if s.get("batch") != p.get("batch"):
            out.fail(f"sample {sid} is batch {s.get('batch')}'s frame, its event says batch {p.get('batch')}")
        got = items.get(sid, [])
        if len(got) != s["size"]:
            out.fail(f"sample {sid} holds {len(got)} lines; {s['size']} were drawn")
        for it in got:
            if it["ticket"] != ticket(s["seed"], it["label"]):
                out.fail(f"sample {sid}: line {it['label']}'s ticket is not the one seed {s['seed']!r} gives it")
    for sid in set(drawn) - set(samples):
        out.fail(f"sample {sid} is missing: deleted")


def _section_rulings(ws: Workspace, out: StateCheck) -> None:
    events = {}
    for e in integrity_db.events_of_kinds(ws, ("section_ruled",)):
        p = json.loads(e["payload_json"])
        events[int(p["section_ruling_id"])] = (e["filing_id"], p["section"], p["action"], p["reason_code"], e["user"])
    rows = integrity_db.section_rulings(ws)
    out.checked["section_rulings"] = len(rows)
    for r in rows:
        ev = events.pop(int(r["id"]), None)
        if ev is None:
            out.fail(f"section ruling {r['id']} (section {r['section']}) has no section_ruled event: inserted behind "
                     "the software's back")
        elif ev != (r["filing_id"], r["section"], r["action"], r["reason_code"], r["ruled_by"]):
            out.fail(f"section ruling {r['id']} (section {r['section']}) differs from its event")
    for rid in events:
        out.fail(f"section ruling {rid} is missing: deleted")


def _fraud_scans(ws: Workspace, out: StateCheck) -> None:
    """Each same-hand scan's flagged lines (which send lines to review) against
    the digest its ``same_hand_scan`` event recorded: a flag removed or added
    by hand would change who is reviewed unseen."""
    import hashlib

    events = {}
    for e in integrity_db.events_of_kinds(ws, ("same_hand_scan",)):
        p = json.loads(e["payload_json"])
        events[int(p["scan_id"])] = p
    rows = integrity_db.fraud_scans(ws)
    out.checked["same_hand_scans"] = len(rows)
    for r in rows:
        p = events.pop(int(r["id"]), None)
        if p is None:
            out.fail(f"same-hand scan {r['id']} has no same_hand_scan event: inserted behind the software's back")
            continue
        digest = hashlib.sha256(json.dumps(r["lines"]).encode()).hexdigest()
        if digest != p.get("flagged_sha256") or int(r["flagged"]) != int(p.get("flagged", -1)):
            out.fail(f"same-hand scan {r['id']}: its flagged lines differ from its event "
                     f"({len(r['lines'])} stored, {p.get('flagged')} recorded)")
    for sid in events:
        out.fail(f"same-hand scan {sid} is missing: deleted")


def _templates(ws: Workspace, out: StateCheck, blobs: list[dict] | None = None) -> None:
    """Each form template a document was read with (its ``document_ingested``
    event names it by SHA-256): present, and its bytes still that hash (on
    a server, as the database holds them: `blobs`, re-hashed there)."""
    kept: dict[str, dict] = {}
    for ev in integrity_db.events_of_kinds(ws, ("document_ingested",)):
        rec = json.loads(ev["payload_json"]).get("template")
        if rec:
            kept.setdefault(rec["sha256"], rec)
    out.checked["templates"] = len(kept)
    held = {r["key"]: r["actual"] for r in blobs} if blobs is not None else None
    for digest, rec in kept.items():
        if held is not None:
            actual = held.get(rec["file"])
        else:
            path = ws.root / rec["file"]
            actual = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
        if actual is None:
            out.fail(f"the form template {rec['name']} the scans were read with is missing ({rec['file']})")
        elif actual != digest:
            out.fail(f"the form template {rec['name']} ({rec['file']}) does not match its SHA-256: altered")


def _files(ws: Workspace, out: StateCheck) -> None:
    if ws.backend == "postgresql":
        rows = integrity_db.blob_digests(ws)
        _templates(ws, out, rows)
        out.checked["files"] = len(rows)
        for r in rows:
            name = r["key"].rsplit("/", 1)[-1].split(".")[0]
            loose_image = r["key"].startswith("crops/") and not r["key"].startswith("crops/packs/")
            if r["actual"] != r["sha256"] or (loose_image and name != r["actual"]):
                out.fail(f"stored file {r['key']} does not match its SHA-256: altered")
        # Each image named by a line, a page or an exemplar: re-hashed from its
        # pack's bytes in the database, or found among the loose blobs above.
        checked, problems = ws.crops.check_images(integrity_db.image_hashes(ws))
        for p in problems:
            out.fail(p)
        out.checked["images"] = checked
        return
    _templates(ws, out)
    n = 0
    for d in integrity_db.documents(ws):
        n += 1
        path = ws.root / d["stored_path"] if d["stored_path"] else None
        if path is None or not path.exists():
            out.fail(f"the stored scan of {d['path']} is missing ({d['stored_path']})")
        elif file_sha256(path) != d["sha256"]:
            out.fail(f"the stored scan of {d['path']} ({d['stored_path']}) does not match its SHA-256: replaced")
    # Crops in pack files (each pack read once) and loose image files alike.
    checked, problems = ws.crops.check_images(integrity_db.image_hashes(ws))
    n += checked
    for p in problems:
        out.fail(p)
    out.checked["files"] = n
