"""Matching a request to the knowledge base of policy answers: pure, no database.

Each answer's question (with its usual wordings) and the request are weighted by TF-IDF over
jieba words and over characters and character pairs, the same features as the classifier;
the best answer by cosine similarity is offered when it reaches the threshold. A request
that reaches it is answered at once; the enterprise can still ask for a department.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.pipeline import FeatureUnion

from twonets.requests.classify import tokens

ANSWERS = "data/answers.json"
# At or above this cosine similarity a request is answered from the knowledge base at once.
MATCH_THRESHOLD = 0.4


@dataclass(frozen=True)
class Entry:
    """One answer as the matcher sees it: its id and the text a request is matched to."""

    key: int
    text: str


@dataclass(frozen=True)
class Match:
    """The best answer for a request and how close it is (cosine similarity, 0 to 1)."""

    key: int
    score: float


def best_match(text: str, entries: Sequence[Entry]) -> Match | None:
    """The entry closest to ``text``, or None when there are none."""
    if not entries or not text.strip():
        return None
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    tokenizer=tokens, token_pattern=None, lowercase=False, sublinear_tf=True
                ),
            ),
            ("chars", TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)),
        ]
    )
    matrix = features.fit_transform([e.text for e in entries] + [text])
    # Each half of the union is normalised on its own, so this is the mean of their cosines.
    scores = cosine_similarity(matrix[-1], matrix[:-1])[0]
    best = int(scores.argmax())
    return Match(entries[best].key, float(scores[best]))


def seed_answers() -> list[dict[str, Any]]:
    """The seed set of answers kept in the repository (for the demo categories)."""
    raw = resources.files("twonets.requests").joinpath(ANSWERS).read_text("utf-8")
    loaded: list[dict[str, Any]] = json.loads(raw)["answers"]
    return loaded


@dataclass(frozen=True)
class MatchCheck:
    """How the seed answers meet the corpus's requests (which are not questions they answer)."""

    requests: int
    answered: int
    same_category: int
    threshold: float


def check_against_corpus() -> MatchCheck:
    """Match every corpus request against the seed answers: how many would be answered at once.

    The corpus's requests are complaints and cases, not the standing questions the answers
    are for, so few should reach the threshold; those that do should be of the answer's
    category.
    """
    from twonets.requests.classify import load_corpus

    seed = seed_answers()
    entries = [Entry(i, a["question"]) for i, a in enumerate(seed)]
    answered = same = 0
    corpus = [e for e in load_corpus() if e.label.startswith("ent-")]
    for example in corpus:
        found = best_match(example.text, entries)
        if found is not None and found.score >= MATCH_THRESHOLD:
            answered += 1
            same += seed[found.key]["category"] == example.label
    return MatchCheck(len(corpus), answered, same, MATCH_THRESHOLD)
