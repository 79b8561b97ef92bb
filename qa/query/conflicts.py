"""Do the cited sentences disagree? Doses, schedules and durations that differ between sources.

A clinician must never get one of two differing doses picked silently. Each sentence gives *facts*: a
subject (a drug, a nutrient, a named period), a kind (``dose``, ``days`` for a schedule, ``duration``) and a
value normalised for comparison (``45mg/m2`` == ``45 mg/m2``, ``150 micrograms/kg`` == ``0.15 mg/kg``, ``2
weeks`` == ``14 days``). Sentences of two documents conflict when they share a subject and a kind and no
value of one is compatible with one of the other:

>>> [c.to_dict() for c in find_conflicts([(1, "a", "Give daunorubicin 60 mg/m2 IV on days 1-3."),
...                                       (2, "b", "Daunorubicin 90 mg/m2 on days 1-3 is preferred.")])]
[{'citations': [1, 2], 'what': 'daunorubicin dose', 'values': ['60 mg/m2', '90 mg/m2']}]

A false "Sources differ" erodes trust: a fact is taken only when its subject is clear, values are compared
conservatively, lab values and percentages never, sentences of one document only with ``same_document=True``
(why, and the measured precision and recall: eval/conflicts/README.md).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from itertools import combinations

_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?|\.\d+)"
_VALUE = rf"(?>(?:between\s+)?{_NUM}(?:\s*(?:[-–—−]|to|through|and|or|,(?:\s*(?:and|or))?)\s*{_NUM})*)"  # atomic
_START = r"(?<![\d.,/A-Z])(?<![A-Za-z]-)"  # not the tail of a name ("H5N1", "HU-400"); "to1,500" is fine
_MASS = {"mg": 1.0, "milligram": 1.0, "mcg": 1e-3, "µg": 1e-3, "μg": 1e-3, "ug": 1e-3, "microgram": 1e-3,
         "g": 1e3, "gram": 1e3, "iu": 1.0, "international unit": 1.0, "unit": 1.0}
_DOSE = re.compile(
    _START + rf"(?P<v>{_VALUE})\s*-?\s*(?P<u>mg|milligrams?|mcg|[µμu]g|micrograms?|g|grams?|IU|"
    r"[Ii]nternational [Uu]nits|units)(?![A-Za-z])(?:\s*\((?:mg|mcg|g|IU)\))?"
    r"(?:(?:\s*/\s*|\s+per\s+)(?P<den>m2|m²|m\^2|kg|kilogram)(?:\s*(?:of\s+)?(?:body weight|BW|b\.w\.))?)?"
    r"(?:(?:\s*/\s*|\s+per\s+)(?P<per>d|day|wk|week|mo|month)\b)?")
_NOT_DOSE = re.compile(r"\s*(?:/|per\s+)\s*(?:m[lL]\b|d[lL]\b|[lL]\b|deciliter|liter|litre|milliliter|g\b|gram|well|"
                       r"mouse|h\b|hr|hour|min)|\s+(?:of\s+)?(?:body\s+)?weight")  # a level, rate or weight gain
_TIME = {k + s: v for k, v in {"hour": 1 / 24, "hr": 1 / 24, "day": 1.0, "week": 7.0, "wk": 7.0, "month": 30.44,
                               "mo": 30.44, "year": 365.25, "yr": 365.25}.items() for s in ("", "s")}
_TU = r"(?P<tu>hours?|hrs?|days?|weeks?|wks?|months?|mos?|years?|yrs?)\b"
_DURATION = re.compile(
    r"\bfor\s+(?P<pre>(?:up to|at least|about|approximately|around|only|another|a total of|a minimum of|"
    rf"a maximum of|more than|less than|over)\s+)?(?P<v>{_VALUE})\s*-?\s*{_TU}(?P<tail>\s+or\s+(?:longer|more|less))?"
    rf"|{_START}(?P<v2>{_NUM})-(?P<tu2>day|week|month)\s+(?:course|regimen|treatment|therapy)")
_PERIOD = re.compile(rf"\b(?P<s>[A-Za-z]{{4,}})\s+(?P<h>period|interval)s?\b[^;.\d]{{0,60}}?(?P<v>{_VALUE})\s*{_TU}")
# periods compared as durations ('serial interval of 7.5 days'); a 'trial period' is no clinical quantity
_PERIODS = frozenset("incubation serial infectious latent latency generation shedding quarantine isolation "
                     "prodromal washout withdrawal".split())
_SCHEDULE = re.compile(rf"\b[Dd]ays\s+(?P<v>(?>{_NUM}(?:\s*(?:[-–—−]|to|through|,|and|or|, and)\s*{_NUM})*))"
                       r"(?!\s*(?:post|p\.i|after|of (?:age|life|gestation|pregnancy)|old|-old))")
# 'after days 7 and 14', 'at days 17-24': a time point, not when a drug is given
_NOT_SCHEDULE = re.compile(r"(?:post|after|until|by|within|gestation|first|every|each|of|for|at)\s+$", re.I)
# Frequencies, most specific first. A frequency known on both sides must match.
_FREQ = [(re.compile(p, re.I), key) for p, key in [
    (r"every other day|on alternate days", "every other day"),
    (r"twice (?:a |per )?(?:day|daily)|two times (?:a |per )?day|\bb\.?i\.?d\b|every 12 h|q12h", "twice daily"),
    (r"(?:three|3) times (?:a |per )?day|\bt\.?i\.?d\b|every 8 h|q8h", "3 times daily"),
    (r"(?:four|4) times (?:a |per )?day|\bq\.?i\.?d\b|every 6 h|q6h", "4 times daily"),
    (r"twice (?:a |per )?week|two times a week|twice weekly", "twice weekly"),
    (r"once[- ]weekly|once a week|\bweekly|per week|\ba week|every week", "weekly"),
    (r"monthly|per month|\ba month|every month", "monthly"),
    (r"once[- ]daily|once a day|\bdaily|per day|\ba day|each day|every day|\bq\.?d\b", "daily")]]
# limits ("up to", "limit ... to", "2,300 mg or less"); an extreme ("as long as 40 years") is one, not a typical value
_UPPER = re.compile(r"(?:up to|as long as|as high as|as much as|no more than|not more than|less than|fewer than|"
                    r"under|below|at most|maximum(?: daily)?(?: dose)?(?: of)?|<|≤|<=|=<|\blimit\b[^.;\d]{0,40}\bto)"
                    r"\s*$", re.I)
_LOWER = re.compile(r"(?:at least|as short as|as low as|as little as|as early as|more than|greater than|over|above|"
                    r"exceeding|minimum(?: dose)? of|>|≥|>=|>or=)\s*$", re.I)
_TAIL = re.compile(r"\s*or\s+(?P<w>more|higher|greater|above|longer|over|less|fewer|lower|below|under)\b")


@dataclass(frozen=True)
class Fact:
    """One quantity of one sentence: ``value`` is its verbatim text, ``norm`` its canonical form."""

    subject: str
    kind: str  # "dose" | "days" | "duration"
    value: str
    norm: str
    start: int = 0
    end: int = 0
    unit: str = ""  # dose: mg, mg/m2, mg/kg, IU, IU/kg...; duration: days
    per: str = ""  # dose frequency ("daily", "weekly", "twice daily"); "" when the sentence gives none
    bounds: tuple[tuple[float, float, str], ...] = ()  # (low, high, "=" | "<=" | ">="), mg or days; "<= 5": (0, 5)


@dataclass(frozen=True)
class Conflict:
    """Sentences that give different values for one quantity; ``values`` align with ``citations``."""

    citations: tuple[int, ...]
    what: str
    values: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"citations": list(self.citations), "what": self.what, "values": list(self.values)}


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*[A-Za-z0-9]|[A-Za-z]")
# Common endings of drug names (INN stems). No list of drugs: a new drug must be found as well.
_SUFFIXES = ("mab", "nib", "cin", "ine", "tin", "ide", "one", "ol", "vir", "pril", "sartan", "azole", "cillin",
             "parin", "platin", "taxel", "fen", "ium", "in", "ate", "urea", "oid", "ose", "ene")
_NUTRIENTS = frozenset("iron zinc copper iodine sodium potassium calcium magnesium selenium folate salt fluoride"
                       .split())
# Ordinary words with those endings, as they stand next to quantities in the suites' texts.
_NOT_DRUGS = frozenset("""
    within begin again brain chain protein origin margin domain certain contain obtain remain maintain explain plain
    strain train basin latin admin bulletin cabin medicine vaccine routine saline urine uterine online baseline
    guideline machine define decline combine examine determine spine swine canine feline bovine porcine murine
    equine ovine intestine genuine marine engine imagine famine discipline quarantine airline deadline timeline
    outline midline alone everyone someone anyone phone hormone ozone milestone control protocol alcohol cholesterol
    school symbol patrol provide inside outside decide guide divide slide aside beside worldwide nationwide peptide
    nucleotide oligonucleotide state create estimate indicate appropriate separate moderate immediate adequate
    accurate approximate ultimate aggregate candidate update debate plate climate private senate delicate
    intermediate elevate demonstrate evaluate investigate isolate substrate lysate filtrate duplicate triplicate
    template concentrate generate celebrate ameliorate tolerate administrate medium premium equilibrium delirium
    podium stadium millennium consortium close choose purpose suppose those whose glucose lactose sucrose diagnose
    expose steroid thyroid avoid android prostate stone cytokine chemokine epithelium incubate sporulate micromol
    franklin scene hygiene intervene convene""".split())
_SALTS = frozenset("hydrochloride hcl sulfate sulphate sodium citrate acetate maleate mesylate phosphate besylate "
                   "tartrate succinate medoxomil monohydrate base olamine".split())
_NOT_ACRONYMS = frozenset("""IU IV IM SC PO ID IN IT BID TID QID QD PRN CI OR RR HR SD SE IQR ANOVA USA US UK FDA
    CDC WHO NIH NCI PBS DMSO FBS FCS MEM DMEM IMDM LB ICU ARDS CT MRI DNA RNA PCR HIV AML ALL APL CNS CKD UTI DVT
    CHD BMI LDL HDL BW MG KG ML AND FOR THE OF IR ER XR SR CR XL""".split())
# words passed over to a substance right after a quantity ('325 mg of aspirin') or before it ('EAP at a dose of')
_SKIP_RIGHT = frozenset("of as the a an elemental oral orally intravenous intravenously intranasal subcutaneous iv "
                        "bid tid daily twice once per day weekly total supplemental".split())
_SKIP_LEFT = frozenset("at a an dose doses dosage of in with daily weekly total the intake intakes to given "
                       "received orally oral iv was were is".split())


def _substance(word: str) -> bool:
    """A drug or a nutrient, by its look.

    >>> [w for w in ["daunorubicin", "iodine", "medicine", "women", "zinc"] if _substance(w)]
    ['daunorubicin', 'iodine', 'zinc']
    """
    w = word.lower()
    return w in _NUTRIENTS or (len(w) >= 5 and w.isalpha() and w.endswith(_SUFFIXES) and w not in _NOT_DRUGS)


def _name(words: list[re.Match], i: int) -> str | None:
    """What token ``i`` names, read with its neighbours: 'folic acid', 'vitamin d', the drug before
    its salt ('alendronate sodium' -> 'alendronate'); None when it names no substance."""
    w, low = words[i].group(), words[i].group().lower()
    before = words[i - 1].group().lower() if i > 0 else ""
    after = words[i + 1].group() if i + 1 < len(words) else ""
    if low == "acid" and before.endswith("ic"):
        return f"{before} acid"
    if low.endswith("ic") and after.lower() == "acid":
        return f"{low} acid"
    if low == "vitamin" and re.fullmatch(r"[A-K]\d{0,2}", after):
        return f"vitamin {after.lower()}"
    if low in _SALTS and (_substance(before) or low not in _NUTRIENTS):
        return before if _substance(before) else None
    return (low[:-1] if low.endswith("s") and _substance(low[:-1]) else low) if _substance(w) else None


def _subject(text: str, start: int, end: int, words: list[re.Match], acronyms: bool = True) -> str | None:
    """The substance of the quantity at ``text[start:end]``: named right after it ('325 mg of aspirin'),
    right before it ('NTX 600 mg'), else the nearest before it (12 words); never across a clause
    ('received calcium, 1000 mg/d. Vitamin D ...' is calcium's). Before a duration an acronym is mostly
    a disease ('had AF for 6 months'): durations take no acronym, and a substance 8 words before.

    >>> t = "Give 600 mg aspirin."; _subject(t, 5, 11, list(_WORD.finditer(t)))
    'aspirin'
    """
    right = [k for k, m in enumerate(words) if m.start() >= end]
    left = [k for k, m in enumerate(words) if m.end() <= start][::-1]

    def cut(k: int, rx: str = r"[;:]|\s-\s|\.\s") -> bool:
        m = words[k]
        return bool(re.search(rx, text[m.end():start] if m.end() <= start else text[end:m.start()]))
    for side, skip, stop in ((right[:4], _SKIP_RIGHT, r"[;:,]|\.\s"), (left[:6], _SKIP_LEFT, r"[;:]|\.\s")):
        for k in side:
            if cut(k, stop):
                break
            w = words[k].group()  # an acronym ('EAP', 'NTX', '6MP') is a drug only right next to a dose
            acro = acronyms and w not in _NOT_ACRONYMS and re.fullmatch(r"(?=(?:.*[A-Z]){2})[A-Z0-9][A-Z0-9-]{1,7}", w)
            if name := _name(words, k) or (acro and w.lower()):
                return name
            if w.lower() not in skip:
                break
    for k in left[:12 if acronyms else 8]:  # never after it: 'carrageenan (12 mg/kg) and zanamivir (3 mg/kg)'
        if cut(k):
            break
        if name := _name(words, k):
            return name
    return None


def _number(s: str) -> float | None:
    """'1,500' -> 1500.0; None for a range that lost its dash (MedQuAD's '100125' for 100-125): two rising
    halves are unreadable, so skipped rather than compared.

    >>> [_number(s) for s in ["1,500", "0.4", ".25", "1500", "100125"]]
    [1500.0, 0.4, 0.25, 1500.0, None]
    """
    half = len(s) // 2
    if "," not in s and "." not in s and len(s) >= 4 and len(s) % 2 == 0 and s[half] != "0" \
            and int(s[:half]) < int(s[half:]):
        return None
    return float(s.replace(",", ""))


def _bounds(value: str, scale: float, cmp: str) -> tuple[tuple[float, float, str], ...] | None:
    """'60-90' and 'between 60 and 90' are one range, '5, 10, or 25' three points.

    >>> _bounds("60 to 90", 1.0, "="), _bounds("5, 10, or 25", 2.0, "="), _bounds("75", 1.0, "<=")
    (((60.0, 90.0, '='),), ((10.0, 10.0, '='), (20.0, 20.0, '='), (50.0, 50.0, '=')), ((0.0, 75.0, '<='),))
    """
    nums = [_number(m.group()) for m in re.finditer(_NUM, value)]
    if None in nums:
        return None
    seps, between = [s.strip().lower() for s in re.split(_NUM, value)[1:-1]], value.lower().startswith("between")
    out, k = [], 0
    while k < len(nums):
        lo = hi = nums[k]
        if k < len(seps) and (seps[k] in ("-", "–", "—", "−", "to", "through") or (k == 0 and between)):
            hi, k = nums[k + 1], k + 1
        out.append((0.0 if cmp == "<=" else lo * scale, math.inf if cmp == ">=" else hi * scale, cmp))
        k += 1
    return tuple(out)


def _comparator(text: str, start: int, end: int) -> str:
    """'<=', '>=' or '=' for the number at ``text[start:end]``.

    >>> t = "no more than 2,300 mg"; _comparator(t, 13, len(t))
    '<='
    """
    before, tail = text[max(0, start - 50):start], _TAIL.match(text, end)
    less = tail and tail.group("w") in ("less", "fewer", "lower", "below", "under")
    return "<=" if _UPPER.search(before) or (less and not _LOWER.search(before)) else \
        ">=" if _LOWER.search(before) or tail else "="


def _frequency(text: str, start: int, end: int, unit_per: str | None) -> str:
    """How often a dose is given: from its unit ('mg/kg/day'), else the nearest frequency after it in its
    clause ('600 mg twice daily'), else before it ('weekly methotrexate 40 mg/m2').

    >>> t = "weekly methotrexate 40 mg/m2 and daily oral 6MP"; _frequency(t, 20, 28, None)
    'weekly'
    """
    if unit_per:
        return {"d": "daily", "w": "weekly", "m": "monthly"}[unit_per[0]]
    tail = _TAIL.match(text, end)  # '2,300 mg or less each day': the frequency follows the limit
    dose, end = rf"{_NUM}\s*(?:mg|g|mcg|[µμ]g|IU)\b", tail.end() if tail else end
    after = re.split(rf"[;(\[]|\b(?:and|or|plus|then|followed)\b|{dose}", text[end:end + 40], maxsplit=1)[0]
    before = re.split(rf"[;(\[]|{dose}", text[max(0, start - 40):start])[-1]
    hits = [(m.start(), k) for k, (rx, _) in enumerate(_FREQ) for m in rx.finditer(after)]
    if hits:  # the first after the dose; of two at one place ('twice daily'), the more specific
        return _FREQ[min(hits)[1]][1]
    hits = [(m.end(), -k) for k, (rx, _) in enumerate(_FREQ) for m in rx.finditer(before)]
    return _FREQ[-max(hits)[1]][1] if hits else ""


def _fact(text, words, span, kind, unit, per, bounds, subject=None) -> Fact | None:
    """A Fact for ``text[span[0]:span[1]]``; None without a subject, or for a mean ± SD (a result)."""
    start, end = span
    subject = subject or _subject(text, start, end, words, acronyms=kind == "dose")
    if not subject or bounds is None or re.search(r"(?:±|\+/-)\s*$", text[:start]) \
            or re.match(r"\s*(?:±|\+/-)", text[end:]):
        return None
    shown = "; ".join(f"<={b[1]:g}" if b[2] == "<=" else f">={b[0]:g}" if b[2] == ">=" else
                      f"{b[0]:g}" + (f"-{b[1]:g}" if b[1] != b[0] else "") for b in bounds)
    norm = f"days {shown}" if kind == "days" else f"{shown} {unit}" + (f" {per}" if per else "")
    return Fact(subject, kind, text[start:end].strip(), norm, start, end, unit, per, bounds)


def _extract(text: str, words: list) -> list[Fact | None]:
    """Doses ('60-90 mg/m2'); schedules ('days 1-7', 'on days 1,3, and 5'); durations ('for 7 days',
    'for 3 to 6 months', 'a 14-day course'); named periods, their own subject ('serial interval of 7.5 days')."""
    out = []
    for m in _DOSE.finditer(text):
        if not _NOT_DOSE.match(text, m.end()):
            u = m.group("u").lower().rstrip("s")
            unit = ("IU" if u in ("iu", "international unit", "unit") else "mg") + \
                ({"m": "/m2", "k": "/kg"}[m.group("den")[0]] if m.group("den") else "")
            bounds = _bounds(m.group("v"), _MASS[u], _comparator(text, m.start(), m.end()))
            out.append(_fact(text, words, m.span(), "dose", unit, _frequency(text, *m.span(), m.group("per")), bounds))
    for m in _SCHEDULE.finditer(text):
        bounds = _bounds(m.group("v"), 1.0, "=")
        if not _NOT_SCHEDULE.search(text[max(0, m.start() - 12):m.start()]) and bounds \
                and all(hi - lo <= 366 for lo, hi, _ in bounds):
            out.append(_fact(text, words, m.span(), "days", "", "", bounds))
    for m in _DURATION.finditer(text):
        value, tu = (m.group("v"), m.group("tu")) if m.group("v") else (m.group("v2"), m.group("tu2"))
        pre = (m.group("pre") or "").strip()
        cmp = "<=" if pre in ("up to", "a maximum of", "less than") else \
            ">=" if pre in ("at least", "a minimum of", "more than", "over") or m.group("tail") else "="
        out.append(_fact(text, words, m.span(), "duration", "days", "", _bounds(value, _TIME[tu.lower()], cmp)))
    for m in _PERIOD.finditer(text):
        if m.group("s").lower() in _PERIODS:
            bounds = _bounds(m.group("v"), _TIME[m.group("tu").lower()], _comparator(text, m.start("v"), m.end()))
            out.append(_fact(text, words, (m.start("v"), m.end()), "duration", "days", "", bounds,
                             f"{m.group('s').lower()} {m.group('h').lower()}"))
    return out


def quantities(text: str) -> list[Fact]:
    """The doses, schedules and durations of a sentence whose subject is clear, in text order.

    >>> [(f.subject, f.kind, f.value, f.norm) for f in quantities("Cytarabine 100-200 mg/m2 on days 1-7.")]
    [('cytarabine', 'dose', '100-200 mg/m2', '100-200 mg/m2'), ('cytarabine', 'days', 'days 1-7', 'days 1-7')]
    """
    words = list(_WORD.finditer(text))
    facts = [f for f in _extract(text, words) if f]
    if sum(f.kind == "dose" for f in facts) > 6:  # a table flattened into a line: its columns are lost
        return []
    aliases = _aliases(text)
    facts = [replace(f, subject=aliases.get(f.subject, f.subject)) for f in facts]
    return sorted(facts, key=lambda f: (f.start, f.kind))


def _aliases(text: str) -> dict[str, str]:
    """Names a sentence glosses: 'all-trans retinoic acid (ATRA)' -> {'atra': 'retinoic acid'}.

    >>> _aliases("Limit sodium (salt) and clomiphene citrate (CC).")
    {'salt': 'sodium', 'cc': 'clomiphene'}
    """
    out = {}
    for m in re.finditer(r"([A-Za-z][\w-]*)\s+([A-Za-z][\w-]*)\s*\(([A-Za-z][A-Za-z0-9-]{1,9})\)", text):
        words = list(_WORD.finditer(m.group(1) + " " + m.group(2)))
        if name := _name(words, len(words) - 1):
            out[m.group(3).lower()] = name
    return out


# whom a sentence is about, when it says: 'Older adults should ...' is about {'older', 'adults'}
_POPULATIONS = {g: re.compile(rf"\b(?:{p})\b", re.I) for g, p in {
    "children": r"child|children|childhood|pediatric|paediatric|kids|boys|girls", "adults": r"adults?",
    "adolescents": r"adolescents?|teens|teenagers", "infants": r"infants?|infancy|newborns?|neonates?|toddlers?",
    "older": r"older|elderly|seniors", "women": r"wom[ae]n|females?|mothers?|maternal", "men": r"men|males?",
    "pregnant": r"pregnant|pregnancy|pregnancies", "breastfeeding": r"breastfeeding|lactating", "healthy": r"healthy",
    "animals": r"mice|mouse|rats?|lambs|calves|chickens|pigs|piglets|dogs|monkeys|macaques|hamsters|ferrets|rabbits|"
               r"animals|sheep|cattle|cows|rodents"}.items()}


def _agree(x: Fact, y: Fact) -> bool | None:
    """Do two facts of one subject and kind agree? None when they cannot be compared.

    >>> a, b, c = (quantities(f"daunorubicin {v}")[0] for v in ["60-90 mg/m2", "90 mg/m2", "90 mg/kg"])
    >>> _agree(a, b), _agree(b, c)
    (True, None)
    """
    if x.kind == "days":  # the same days, however written ('days 1-3' == 'days 1, 2, and 3')
        a, b = ({d for lo, hi, _ in f.bounds for d in range(int(lo), int(hi) + 1)} for f in (x, y))
        return a == b
    if x.unit != y.unit or (x.per and y.per and x.per != y.per):
        return None
    tol = 0.03 if x.kind == "duration" else 1e-6  # a month is 30.44 days, more or less

    def meets(a, b) -> bool:
        if a[2] == b[2] != "=":  # two limits of one direction must name the same bound
            u, v = (a[0], b[0]) if a[2] == ">=" else (a[1], b[1])
            return abs(u - v) <= tol * max(u, v)
        return a[0] <= b[1] * (1 + tol) and b[0] <= a[1] * (1 + tol)
    return any(meets(a, b) for a in x.bounds for b in y.bounds)


def find_conflicts(sentences: list[tuple[int, str, str]], same_document: bool = False) -> list[Conflict]:
    """Conflicts between ``(citation, document id, sentence)`` triples, ordered by citations. Two sentences
    differ when some of their values can be compared and none agree; all that differ on one quantity,
    directly or through each other, make one conflict.

    >>> find_conflicts([(1, "a", "Midostaurin 50 mg twice daily on days 8-21."),
    ...                 (2, "b", "Midostaurin 50 mg twice daily, days 8-14.")])
    [Conflict(citations=(1, 2), what='midostaurin days', values=('days 8-21', 'days 8-14'))]
    >>> find_conflicts([(1, "a", "Daunorubicin 60 or 90 mg/m2."), (2, "b", "Daunorubicin 90 mg/m2.")])
    []
    """
    aliases = {k: v for _, _, text in sentences for k, v in _aliases(text).items()}
    rows = []
    for cit, doc, text in sentences:
        facts: dict[tuple[str, str], list[Fact]] = {}
        for f in quantities(text):
            facts.setdefault((aliases.get(f.subject, f.subject), f.kind), []).append(f)
        rows.append((cit, doc, frozenset(g for g, rx in _POPULATIONS.items() if rx.search(text)), facts))
    groups: dict[tuple[str, str], list[set[int]]] = {}
    for i, j in combinations(range(len(rows)), 2):
        (ci, di, pi, fi), (cj, dj, pj, fj) = rows[i], rows[j]
        if ci == cj or (di == dj and not same_document) or (pi and pj and pi != pj):
            continue  # one citation; one source; or about different people (children vs adults)
        for key in fi.keys() & fj.keys():
            verdicts = [_agree(x, y) for x in fi[key] for y in fj[key]]
            if any(v is not None for v in verdicts) and not any(verdicts):
                gs = groups.get(key, [])  # join i and j, and the groups that hold either
                groups[key] = [g for g in gs if not g & {i, j}] + [set().union({i, j}, *(g for g in gs if g & {i, j}))]
    out = []
    for (subject, kind), sets in groups.items():
        what = subject if subject.endswith((" period", " interval")) else f"{subject} {kind}"
        for members in sets:
            values: dict[int, list[str]] = {}
            for k in sorted(members):
                seen = values.setdefault(rows[k][0], [])
                seen += [f.value for f in rows[k][3][(subject, kind)] if f.value not in seen]
            out.append(Conflict(tuple(sorted(values)), what, tuple(", ".join(values[c]) for c in sorted(values))))
    return sorted(out, key=lambda c: (c.citations, c.what))
