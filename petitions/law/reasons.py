"""Reason codes: one table, stable snake_case codes with labels staff read.

A code is stored with every determination and ruling, counted on the
certificate and shown to proponents (Gov. Code §7924.110), so codes never
change once shipped; labels may be reworded.

Three properties of a code matter to the law:

``final``
    A person may give it as the reason a line is invalid. Codes that are
    not final only describe *why a line needs review* (e.g. the matcher
    found two voters who fit) and can never end up on a certificate.
``software_may_decide``
    Triage may mark a line invalid for this reason without a person. Only
    reasons that need no human judgement qualify (a blank or struck line,
    a line with neither a signature nor a name). Software only ever
    *accepts* on identity and signature grounds (EC 3019, 2 CCR §20961).
``signature_grounds``
    A rejection for this reason is a judgement about the handwriting, so
    the rule set's second-person rule (``RuleSet.rejections_required``)
    applies to it.
``section_level``
    A supervisor rules it on a whole section (the circulator's declaration
    is defective, the section was circulated in the wrong county): it
    applies to every line of the section and is never a single line's reason
    key.
``counts_in_raw``
    Whether a line with this final reason is part of the raw count.
    Blank and struck lines are not (2 CCR §20510: the raw count is the
    signed lines filed).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Reason", "REASONS", "reason", "label", "final_codes", "software_decidable_codes", "section_codes"]


@dataclass(frozen=True)
class Reason:
    """One reason code and what the law lets software do with it."""

    code: str
    label: str
    final: bool = True
    software_may_decide: bool = False
    signature_grounds: bool = False
    counts_in_raw: bool = True
    description: str = ""
    section_level: bool = False


# Order is the order reports list them: the DOMAIN.md list first (the
# certificate columns LA County uses map onto these), then review-only codes.
_TABLE: tuple[Reason, ...] = (
    Reason("not_registered", "Not registered",
           description="No registration found for the signer in the jurisdiction."),
    Reason("cancelled", "Cancelled registration",
           description="The voter's registration was cancelled when the line was signed."),
    Reason("address_mismatch", "Different address (registered elsewhere)",
           description="The residence on the line is not the registration address (EC 105); "
                       "variants tolerated by 2 CCR §20931 are not a mismatch."),
    Reason("out_of_jurisdiction", "Out of jurisdiction / district",
           description="Registered, but outside the jurisdiction or district of the petition."),
    Reason("duplicate", "Duplicate",
           description="Another line of the same voter counts under the duplicate policy."),
    Reason("signature_mismatch", "Signature does not compare", signature_grounds=True,
           description="A person compared the signature with every signature in the voter's "
                       "record (2 CCR §20960) and found it does not compare. Never decided by software."),
    Reason("no_signature", "No signature", software_may_decide=True,
           description="The line has no signature. Software may decide it only when the line "
                       "also has no name (nothing to identify), and only if the rule set allows."),
    Reason("incomplete_address", "Incomplete / no address",
           description="No residence address, or too little of one to identify the voter."),
    Reason("registered_after_signing", "Registered after signing",
           description="The registration date is after the date signed (or the filing date, "
                       "under the rule set's registration test)."),
    Reason("outside_window", "Signed outside the circulation window",
           description="Dated before circulation began or after it ended."),
    Reason("withdrawn", "Withdrawn",
           description="The signer withdrew the signature before filing."),
    Reason("wrong_party", "Wrong party",
           description="Partisan nomination signed by a voter not of the party."),
    Reason("circulator_defect", "Circulator declaration defect", section_level=True,
           description="The section's circulator declaration is defective; applies to the whole section."),
    Reason("illegible", "Illegible / cannot identify",
           description="The line cannot be read well enough to identify a voter."),
    Reason("other", "Other", description="Any other reason; a note is required."),
    # Last among the final codes, so that the reject keys of the codes above keep their places.
    Reason("signed_other_filing", "Signed another paper for the same office",
           description="The voter signed more papers for the same office than the law allows (one, or as many "
                       "as there are seats; EC 8404); the earliest signatures count."),
    Reason("wrong_county", "Section circulated in the wrong county", section_level=True,
           description="The section was circulated or filed in another county than the petition's; a supervisor "
                       "rules it on the whole section."),
    # Lines excluded from the raw count. Recorded so that every line has a
    # determination, but never reported as invalid signatures.
    Reason("blank_line", "Blank line", software_may_decide=True, counts_in_raw=False,
           description="Nothing written on the line."),
    Reason("struck_line", "Struck line", software_may_decide=True, counts_in_raw=False,
           description="The line was struck through before filing."),
    # Review-only codes: why a person must look. Never a final reason.
    Reason("ambiguous_identity", "Several voters fit", final=False,
           description="The matcher found more than one plausible voter."),
    Reason("name_mismatch", "Name differs from the registration", final=False,
           description="Address fits but the name does not clearly (nickname, initials, suffix); "
                       "initials for a given name are not grounds to reject."),
    Reason("weak_match", "Weak identity match", final=False,
           description="The best candidate fits only weakly."),
    Reason("inactive", "Inactive registration", final=False,
           description="The voter is registered but inactive; a person confirms the record."),
    Reason("not_keyed", "Name and address not keyed", final=False,
           description="The printed name and address have not been keyed yet."),
    Reason("identity_not_checked", "Identity not checked", final=False,
           description="No match result for the line."),
    Reason("signature_not_compared", "Signature not compared", final=False,
           description="No signature score: no exemplar on file or no signature found."),
    Reason("same_hand", "Same handwriting as other lines", final=False,
           description="The same-hand scan found this signature in a cluster of lines that one person likely "
                       "wrote under different voters' names (round-tabling); a person compares the cluster's "
                       "signatures with each voter's signatures on file. Never decided by software."),
    Reason("layout_uncertain", "Page layout not certain", final=False,
           description="The page was read with a layout fit that is confident but not certain (a rule of the "
                       "form not found, or a stray rule the form lacks): a person checks on the page that the "
                       "line's crops are its own cells before it counts. Never decided by software."),
    Reason("registration_unknown", "Registration status or date unknown", final=False,
           description="The voter record lacks a status or registration date, or the filing lacks the "
                       "dates the registration test needs."),
)

REASONS: dict[str, Reason] = {r.code: r for r in _TABLE}


def reason(code: str) -> Reason:
    """Return the :class:`Reason` for `code`; ``KeyError`` names unknown codes."""
    try:
        return REASONS[code]
    except KeyError:
        raise KeyError(f"unknown reason code {code!r}; known codes: {', '.join(REASONS)}") from None


def label(code: str) -> str:
    """Human label for `code` (the code itself if unknown, so reports never crash)."""
    r = REASONS.get(code)
    return r.label if r else code


def final_codes() -> tuple[str, ...]:
    """Codes a person may give as the reason a line is invalid, in report order."""
    return tuple(r.code for r in _TABLE if r.final)


def software_decidable_codes() -> frozenset[str]:
    """Codes triage may ever decide without a person."""
    return frozenset(r.code for r in _TABLE if r.software_may_decide)


def section_codes() -> tuple[str, ...]:
    """Codes a supervisor may rule on a whole section, in report order."""
    return tuple(r.code for r in _TABLE if r.section_level)
