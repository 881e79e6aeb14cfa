"""The request classifier: jieba segmentation and a linear model (scikit-learn). No database.

Texts are cut into words with jieba, weighted by TF-IDF over words and characters, and a
logistic regression proposes the category with a probability. It is trained, once per
process, on the corpus the project wrote (``data/corpus.jsonl``, composed from
``data/phrases.json`` by ``compose_corpus``); ``evaluate`` trains on the fixed training
split and scores the held-out split, whose sentences use wordings the training never saw.
"""

from __future__ import annotations

import json
import logging
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

with warnings.catch_warnings():
    # jieba 0.42 probes for pkg_resources, which setuptools marks deprecated on import.
    warnings.simplefilter("ignore")
    import jieba

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import FeatureUnion, Pipeline

jieba.setLogLevel(logging.WARNING)

CORPUS = "data/corpus.jsonl"
PHRASES = "data/phrases.json"
SEED = 14
PER_LABEL = 25
HELD_OUT = 6
# Of each category's twelve written wordings, the last three appear only in the held-out split.
TRAIN_WORDINGS = 9
_PUNCTUATION = frozenset("，。！？、；：,.!?;: \t\n（）()“”\"'")


@dataclass(frozen=True)
class Example:
    """One labelled request text and the split it belongs to."""

    text: str
    label: str
    split: str  # "train" or "test"


def compose_corpus(phrases: dict[str, Any], *, seed: int = SEED) -> list[Example]:
    """The corpus: each category's wordings framed by openings and closings, seeded.

    Held-out examples use only wordings no training example uses, so the score measures
    how the model does on new wording, not on sentences it has seen.
    """
    rng = random.Random(seed)
    found: list[Example] = []
    for label, wordings in phrases["labels"].items():
        side = "enterprise" if label.startswith("ent-") else "citizen"
        openings = phrases[f"{side}_openings"]
        closings = phrases[f"{side}_closings"]
        train, test = wordings[:TRAIN_WORDINGS], wordings[TRAIN_WORDINGS:]
        for i in range(PER_LABEL):
            split = "test" if i >= PER_LABEL - HELD_OUT else "train"
            pool = test if split == "test" else train
            core = pool[i % len(pool)]
            text = f"{rng.choice(openings)}{core}，{rng.choice(closings)}".replace("，，", "，")
            found.append(Example(text.rstrip("，"), label, split))
    return found


def write_corpus_lines(examples: Sequence[Example]) -> str:
    """The corpus as JSON lines (what ``data/corpus.jsonl`` holds)."""
    return "".join(
        json.dumps({"text": e.text, "label": e.label, "split": e.split}, ensure_ascii=False) + "\n"
        for e in examples
    )


def read_phrases() -> dict[str, Any]:
    """The written wordings the corpus is composed from."""
    text = resources.files("twonets.requests").joinpath(PHRASES).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def load_corpus() -> list[Example]:
    """The labelled corpus kept in the package."""
    text = resources.files("twonets.requests").joinpath(CORPUS).read_text("utf-8")
    return [Example(**json.loads(line)) for line in text.splitlines() if line.strip()]


def tokens(text: str) -> list[str]:
    """The words of ``text`` (jieba's precise mode), without punctuation and spaces."""
    return [w for w in jieba.lcut(text) if w.strip() and w not in _PUNCTUATION]


class Classifier:
    """TF-IDF over jieba words and over single characters and character pairs, then a
    multinomial logistic regression.

    Characters catch what segmentation splits differently in new wording (发票 in 开票);
    on the held-out split, words and characters together beat either alone.
    """

    def __init__(self) -> None:
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
        self.pipeline = Pipeline(
            [("features", features), ("model", LogisticRegression(C=100.0, max_iter=3000))]
        )

    def fit(self, examples: Sequence[Example]) -> Classifier:
        """Train on ``examples``."""
        self.pipeline.fit([e.text for e in examples], [e.label for e in examples])
        return self

    @property
    def labels(self) -> list[str]:
        """The categories the model knows."""
        return [str(c) for c in self.pipeline.classes_]

    def predict(self, text: str, *, top: int = 3) -> list[tuple[str, float]]:
        """The ``top`` categories for ``text`` with their probabilities, best first."""
        probabilities = self.pipeline.predict_proba([text])[0]
        ranked = sorted(zip(self.labels, probabilities, strict=True), key=lambda t: -t[1])
        return [(label, float(p)) for label, p in ranked[:top]]

    def predict_labels(self, texts: Sequence[str]) -> list[str]:
        """The best category of each text."""
        return [str(label) for label in self.pipeline.predict(list(texts))]


@dataclass(frozen=True)
class Evaluation:
    """How the model trained on the training split does on the held-out split."""

    train_size: int
    test_size: int
    categories: int
    accuracy: float
    macro_f1: float


def evaluate(examples: Sequence[Example] | None = None) -> Evaluation:
    """Train on the training split, score accuracy and macro-F1 on the held-out split."""
    examples = list(examples) if examples is not None else load_corpus()
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    model = Classifier().fit(train)
    truth = [e.label for e in test]
    guess = model.predict_labels([e.text for e in test])
    return Evaluation(
        train_size=len(train),
        test_size=len(test),
        categories=len({e.label for e in examples}),
        accuracy=float(accuracy_score(truth, guess)),
        macro_f1=float(f1_score(truth, guess, average="macro")),
    )


@lru_cache(maxsize=1)
def default_classifier() -> Classifier:
    """The classifier the platform uses: trained on the whole corpus, once per process."""
    return Classifier().fit(load_corpus())


if __name__ == "__main__":  # regenerate data/corpus.jsonl from data/phrases.json
    print(write_corpus_lines(compose_corpus(read_phrases())), end="")
