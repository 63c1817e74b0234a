# ruff: noqa: S608 - SQL built from fixed text at import; every value is a parameter
"""From the words a shopper typed to a tsquery: typo correction against the vocabulary and
synonym expansion, in one statement.

Each query word becomes an OR group: the word itself, its correction when the vocabulary does not
know it ("runing" -> running, "addidas" -> adidas: the nearest known word by trigram distance, on
the GiST index), and every synonym of it or of a phrase it starts ("sneakers" -> trainers). The
groups are ANDed. Stop words and numbers are never corrected. Its statements read through
api.db_router.read_cursor() (the replica, when the search route marked its reads safe).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from api.db_router import read_cursor
from search.pg.indexer import CONFIG

# Words, numbers with a decimal point ("13.3") and SKU-like tokens ("EM000123-1").
TOKEN = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
MAX_WORDS = 12
MIN_SIMILARITY = 0.3
MAX_PHRASE = 3

_ANALYSE = f"""
SELECT t.word,
       numnode(plainto_tsquery('{CONFIG}', t.word)) = 0 AS stop,
       EXISTS (SELECT 1 FROM search_pg_word w WHERE w.word = t.word)
         OR EXISTS (SELECT 1 FROM search_pg_word w
                    WHERE w.lexeme = coalesce((ts_lexize('english_stem', t.word))[1], t.word))
         AS known,
       c.word, c.sim
FROM unnest(%s::text[]) AS t(word)
LEFT JOIN LATERAL (
    SELECT w.word, similarity(w.word, t.word) AS sim
    FROM search_pg_word w
    WHERE t.word !~ '^[0-9.\\-]+$' AND length(t.word) >= 3
    ORDER BY w.word <-> t.word, w.ndoc DESC
    LIMIT 1
) c ON true
"""

_SYNONYMS = "SELECT terms FROM search_synonym WHERE is_active"


def normalise(text: str) -> str:
    """Lower case, accents folded, one space between words (also the query stats key)."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(folded.split())[:200]


def tokens(text: str) -> list[str]:
    return TOKEN.findall(normalise(text))[:MAX_WORDS]


def _term(words: str) -> str:
    """One alternative as tsquery text: a quoted word, or all words of a phrase (AND rather than
    adjacent: "running shoes" should find a running shoe whose text says "Shoes > Running")."""
    parts = [f"'{w}'" for w in TOKEN.findall(words)]
    return f"({' & '.join(parts)})" if len(parts) > 1 else (parts[0] if parts else "")


@dataclass
class Analysis:
    words: list[str]
    groups: list[list[str]] = field(default_factory=list)  # alternatives per group (tsquery)
    corrections: dict[str, str] = field(default_factory=dict)  # unknown word -> known word
    raw_tokens: list[str] = field(default_factory=list)  # upper-cased, for exact SKU matches

    @property
    def empty(self) -> bool:
        return not self.groups

    def tsquery(self, *, any_group: bool = False) -> str:
        joined = [f"({' | '.join(alts)})" for alts in self.groups]
        return (" | " if any_group else " & ").join(joined)

    def all_words(self) -> str:
        """Every word of every alternative (corrections and synonyms too), as plain text: its
        lexemes are all those the tsquery may look for."""
        words = {w for alts in self.groups for alt in alts for w in re.findall(r"'([^']+)'", alt)}
        return " ".join(sorted(words))

    def corrected_text(self) -> str | None:
        if not self.corrections:
            return None
        return " ".join(self.corrections.get(word, word) for word in self.words)


def _synonym_sets() -> list[list[str]]:
    with read_cursor() as cursor:
        cursor.execute(_SYNONYMS)
        rows = cursor.fetchall()
    sets = []
    for (terms,) in rows:
        found = [" ".join(tokens(t)) for t in terms.split(",")]
        found = [t for t in found if t]
        if len(found) > 1:
            sets.append(found)
    return sets


def analyse(q: str) -> Analysis:
    """Two statements at most (the vocabulary lookup, the synonyms), none for an empty query."""
    words = tokens(q)
    analysis = Analysis(words=words, raw_tokens=[t.upper() for t in q.split()][:MAX_WORDS])
    if not words:
        return analysis
    with read_cursor() as cursor:
        cursor.execute(_ANALYSE, [words])
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    synonyms = _synonym_sets()
    index = 0
    while index < len(words):
        alternatives: list[str] = []
        span = 1
        # The longest phrase starting here that a synonym set holds ("running shoes").
        for size in range(min(MAX_PHRASE, len(words) - index), 0, -1):
            phrase = " ".join(words[index : index + size])
            matching = [s for s in synonyms if phrase in s]
            if matching:
                span = size
                for terms in matching:
                    alternatives += [_term(t) for t in terms]
                break
        word = words[index]
        stop, known, correction, similarity = rows.get(word, (False, True, None, 0.0))
        if span == 1:
            alternatives.insert(0, _term(word))
            if (
                not stop
                and not known
                and not alternatives[1:]  # a synonym term is a word the merchant taught us
                and correction
                and correction != word
                and (similarity or 0) >= MIN_SIMILARITY
            ):
                analysis.corrections[word] = correction
                alternatives.append(_term(correction))
                for terms in synonyms:
                    if correction in terms:
                        alternatives += [_term(t) for t in terms]
        elif not alternatives:
            alternatives.append(_term(" ".join(words[index : index + span])))
        if not stop or span > 1:
            unique = list(dict.fromkeys(a for a in alternatives if a))
            if unique:
                analysis.groups.append(unique)
        index += span
    return analysis
