"""The harder identity mess in contact records, after the FEBRL / GeCo error model: keyboard slips, OCR and
phonetic errors, initials, missing values, house-number and postcode typos, abbreviated street types and
mangled birth dates (:class:`~cxlib.synth.config.IdentityNoise`, ``keyboard`` to ``date_format``).

:func:`_mess` draws a fixed number of uniforms per record (:data:`_DRAWS`) from the block's own mess stream
(``SeedSequence([seed, block, 31])``), whatever the rates: the main stream, and so every other table, is the
same with or without it, and changing one rate changes only the records that kind touches.

Examples
--------
>>> import numpy as np
>>> _keyboard("Robert", 0.0, 0.0)  # 'R' replaced by a neighbouring key
'Eobert'
>>> _ocr("Morris", 0.0)
'M0rris'
>>> _phonetic("Phillip", 0.0)
'Fillip'
>>> _house_number("12", 0.0, 0.5)
'17'
>>> _date_text(("1984", "03", "07"), "dmy/")
'07/03/1984'
>>> _parses(("1984", "13", "07"), "iso"), _parses(("1984", "03", "07"), "dmy/")
(False, False)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cxlib.synth.config import IdentityNoise

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    """Each letter's neighbouring keys on a QWERTY keyboard (same row, and the staggered rows above and below)."""
    out = {}
    for r, row in enumerate(_ROWS):
        for c, ch in enumerate(row):
            near = [row[j] for j in (c - 1, c + 1) if 0 <= j < len(row)]
            if r > 0:
                near += [_ROWS[r - 1][j] for j in (c, c + 1) if j < len(_ROWS[r - 1])]
            if r < 2:
                near += [_ROWS[r + 1][j] for j in (c - 1, c) if 0 <= j < len(_ROWS[r + 1])]
            out[ch] = "".join(near)
    return out


_KEYS = _neighbours()
#: OCR look-alikes (GeCo's OCR table, the common ones), read both ways.
_OCR = (("o", "0"), ("l", "1"), ("i", "1"), ("s", "5"), ("rn", "m"), ("cl", "d"), ("vv", "w"), ("b", "8"),
        ("g", "9"), ("z", "2"), ("e", "c"), ("h", "b"), ("u", "v"), ("n", "h"))  # fmt: skip
_OCR_PAIRS = _OCR + tuple((b, a) for a, b in _OCR)
#: Spellings that sound alike (GeCo's phonetic rules, simplified); double letters single and back are added.
_PHONETIC = (("ph", "f"), ("f", "ph"), ("ck", "k"), ("k", "ck"), ("y", "i"), ("i", "y"), ("ie", "y"),
             ("ey", "y"), ("th", "t"), ("z", "s"), ("s", "z"), ("c", "k"), ("ou", "ow"), ("ee", "ea"),
             ("ea", "ee"), ("ai", "ay"), ("ay", "ai"), ("ei", "ie"), ("ie", "ei"))  # fmt: skip
_DOUBLE = "lnrtmsfpdgbc"
_ABBREV = {"Street": "St", "Road": "Rd", "Lane": "Ln", "Avenue": "Ave", "Crescent": "Cres"}
_POSTCODE_OCR = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8", "2": "Z", "Z": "2"}
#: Birth-date formats: the systems' own two, two others the loader reads, three it does not.
_FORMATS = ("iso", "yyyymmdd", "ymd/", "ymd-short", "dmy/", "dmy.", "mdy/")
_OTHER_FORMATS = _FORMATS[2:]
_PARSED = ("iso", "yyyymmdd", "ymd/", "ymd-short")
#: Columns of the uniforms drawn per record (a fixed number, whatever the rates).
_NAME_KINDS = ("keyboard", "ocr", "phonetic")
_DRAWS = 48


def _cased(replacement: str, original: str) -> str:
    return replacement[:1].upper() + replacement[1:] if original[:1].isupper() else replacement


def _substitute(s: str, pairs: tuple[tuple[str, str], ...], u: float) -> str:
    """Replace one occurrence (picked by ``u``) of any ``pairs`` source in ``s`` (case-insensitive)."""
    low = s.lower()
    spots = [(i, a, b) for a, b in pairs for i in range(len(low)) if low.startswith(a, i)]
    if not spots:
        return s
    i, a, b = spots[min(int(u * len(spots)), len(spots) - 1)]
    return s[:i] + _cased(b, s[i : i + len(a)]) + s[i + len(a) :]


def _keyboard(s: str, u_kind: float, u_pos: float) -> str:
    """One keyboard slip: a letter replaced by a neighbouring key, a neighbour inserted after it, the letter
    dropped, or it and the next swapped (``u_kind`` picks which, ``u_pos`` where)."""
    if len(s) < 2:
        return s
    i = min(int(u_pos * len(s)), len(s) - 1)
    kind = int(u_kind * 4)
    near = _KEYS.get(s[i].lower(), "")
    if kind <= 1 and near:
        key = _cased(near[int((u_pos * len(s) - i) * len(near)) % len(near)], s[i])
        return s[:i] + key + s[i + 1 :] if kind == 0 else s[: i + 1] + key.lower() + s[i + 1 :]
    if kind == 2 or i + 1 >= len(s):
        return s[:i] + s[i + 1 :] if len(s) > 2 else s
    return s[:i] + _cased(s[i + 1], s[i]) + s[i].lower() + s[i + 2 :]


def _ocr(s: str, u: float) -> str:
    """One OCR confusion (``o``/``0``, ``rn``/``m``...)."""
    return _substitute(s, _OCR_PAIRS, u)


def _phonetic(s: str, u: float) -> str:
    """One spelling that sounds the same: a phonetic rule, a double letter single, or a single one doubled."""
    low = s.lower()
    doubles = tuple((c + c, c) for c in _DOUBLE if c + c in low)
    singles = tuple((c, c + c) for c in _DOUBLE if c in low[1:] and c + c not in low and not low.endswith(c))
    return _substitute(s, _PHONETIC + doubles + singles, u)


def _house_number(number: str, u_kind: float, u_digit: float) -> str:
    """A digit of the house number changed, dropped or added."""
    d = str(int(u_digit * 10))
    i = min(int(u_digit * len(number)), len(number) - 1)
    kind = int(u_kind * 3)
    if kind == 0 or (kind == 1 and len(number) < 2):
        other = str((int(number[i]) + 1 + int(u_digit * 9)) % 10) if number[i].isdigit() else d
        return number[:i] + other + number[i + 1 :]
    if kind == 1:
        return number[:i] + number[i + 1 :]
    return number + d


def _postcode(pc: str, u_pos: float, u_how: float) -> str:
    """One character of the postcode replaced by an OCR look-alike or a neighbouring key."""
    spots = [i for i, c in enumerate(pc) if c.isalnum()]
    if not spots:
        return pc
    i = spots[min(int(u_pos * len(spots)), len(spots) - 1)]
    c = pc[i]
    if c in _POSTCODE_OCR and u_how < 0.5:
        new = _POSTCODE_OCR[c]
    elif c.isdigit():
        new = str((int(c) + (1 if u_how < 0.75 else 9)) % 10)
    else:
        near = _KEYS[c.lower()]
        new = near[int(u_how * len(near)) % len(near)].upper()
    return pc[:i] + new + pc[i + 1 :]


def _date_text(ymd: tuple[str, str, str], fmt: str) -> str:
    """A birth date ``(yyyy, mm, dd)`` written in one of :data:`_FORMATS`."""
    y, m, d = ymd
    return {
        "iso": f"{y}-{m}-{d}",
        "yyyymmdd": f"{y}{m}{d}",
        "ymd/": f"{y}/{m}/{d}",
        "ymd-short": f"{y}-{int(m)}-{int(d)}",
        "dmy/": f"{d}/{m}/{y}",
        "dmy.": f"{d}.{m}.{y}",
        "mdy/": f"{m}/{d}/{y}",
    }[fmt]


def _parses(ymd: tuple[str, str, str], fmt: str) -> bool:
    """Whether the loader reads the date (a format it knows, and a day that exists)."""
    try:
        dt.date(int(ymd[0]), int(ymd[1]), int(ymd[2]))
    except ValueError:
        return False
    return fmt in _PARSED


def _mangle_date(ymd: tuple[str, str, str], noise: IdentityNoise, u: np.ndarray) -> tuple[str, str, str]:
    """Day and month swapped, a digit typo in either, the year's last digit changed (``u``: 6 uniforms)."""
    y, m, d = ymd
    if u[0] < noise.date_swap:
        m, d = d, m
    if u[1] < noise.date_typo:
        part = m if u[2] < 0.5 else d
        j = int(u[2] * 4) % 2
        digit = str((int(part[j]) + 1 + int(u[3] * 9)) % 10)
        part = part[:j] + digit + part[j + 1 :]
        m, d = (part, d) if u[2] < 0.5 else (m, part)
    if u[4] < noise.date_year:
        y = y[:3] + str((int(y[3]) + 1 + int(u[5] * 9)) % 10)
    return (y, m, d)


def _birth(birth: np.ndarray, fmt: str, noise: IdentityNoise, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mangled birth dates (``u``: 8 uniforms per record) and whether each no longer parses."""
    out = birth.copy()
    unreadable = np.zeros(len(out), dtype=bool)
    for i, b in enumerate(out):
        if b is None:
            continue
        digits = b.replace("-", "")
        ymd = _mangle_date((digits[:4], digits[4:6], digits[6:8]), noise, u[i])
        f = _OTHER_FORMATS[int(u[i, 7] * len(_OTHER_FORMATS))] if u[i, 6] < noise.date_format else fmt
        if ymd != (digits[:4], digits[4:6], digits[6:8]) or f != fmt:
            out[i] = _date_text(ymd, f)
            unreadable[i] = not _parses(ymd, f)
    return out, unreadable


def _name(s: str | None, noise: IdentityNoise, u: np.ndarray) -> str | None:
    """Keyboard, OCR and phonetic errors in one name (``u``: 6 uniforms)."""
    if s is None:
        return s
    if u[0] < noise.keyboard:
        s = _keyboard(s, u[1], (u[0] / max(noise.keyboard, 1e-12)))
    if u[2] < noise.ocr:
        s = _ocr(s, u[3])
    if u[4] < noise.phonetic:
        s = _phonetic(s, u[5])
    return s


def _street(line: str | None, noise: IdentityNoise, u: np.ndarray) -> str | None:
    """A street line ``"12 High Street"`` with an abbreviated type, name errors and a house-number typo
    (``u``: 10 uniforms)."""
    if line is None:
        return line
    number, _, name = line.partition(" ")
    if u[0] < noise.street_abbrev:
        words = name.split(" ")
        words[-1] = _ABBREV.get(words[-1], words[-1])
        name = " ".join(words)
    name = _name(name, noise, u[1:7])
    if u[7] < noise.house_number:
        number = _house_number(number, u[8], u[9])
    return f"{number} {name}"


def _mess(rng: np.random.Generator, noise: IdentityNoise, rows: dict[str, np.ndarray], birth_fmt: str) -> np.ndarray:
    """Apply the harder mess to a system's contact rows in place; return which birth dates no longer parse.

    ``rows`` holds ``first_name, last_name, street, postcode, city, birth_date`` (text or ``None``).
    """
    k = len(rows["first_name"])
    u = rng.random((k, _DRAWS))
    first = rows["first_name"].copy()
    for i in range(k):
        if first[i] is not None and u[i, 0] < noise.initial:
            first[i] = first[i][0] + ("." if u[i, 1] < 0.5 else "")
        else:
            first[i] = _name(first[i], noise, u[i, 2:8])
    rows["first_name"] = first
    rows["last_name"] = np.array([_name(s, noise, u[i, 8:14]) for i, s in enumerate(rows["last_name"])], dtype=object)
    rows["street"] = np.array([_street(s, noise, u[i, 14:24]) for i, s in enumerate(rows["street"])], dtype=object)
    pc = rows["postcode"].copy()
    for i in np.nonzero((u[:, 24] < noise.postcode_typo) & (pc != None))[0]:  # noqa: E711
        pc[i] = _postcode(pc[i], u[i, 25], u[i, 26])
    rows["postcode"] = pc
    rows["birth_date"], unreadable = _birth(rows["birth_date"], birth_fmt, noise, u[:, 27:35])
    for j, col in enumerate(("first_name", "last_name", "street", "postcode", "city", "birth_date")):
        gone = u[:, 35 + j] < noise.missing_field
        rows[col] = np.where(gone, None, rows[col])
        if col == "birth_date":
            unreadable &= ~gone
    return unreadable
