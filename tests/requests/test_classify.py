"""The classifier and its corpus: size, provenance, a fixed held-out split, a real score."""

from __future__ import annotations

from collections import Counter
from importlib import resources

from typer.testing import CliRunner

from twonets.cli import app
from twonets.requests import categories, classify


def test_the_corpus_is_large_enough_and_its_split_is_fixed() -> None:
    corpus = classify.load_corpus()
    assert len(corpus) >= 400
    labels = Counter(e.label for e in corpus)
    assert len(labels) >= 12
    assert min(labels.values()) == classify.PER_LABEL
    held_out = Counter(e.label for e in corpus if e.split == "test")
    assert set(held_out.values()) == {classify.HELD_OUT}
    # Every enterprise category is in it, and every other label is a management element.
    assert {c.code for c in categories.ENTERPRISE_CATEGORIES} <= set(labels)
    assert all(label.startswith(("ent-", "E", "C")) for label in labels)


def test_the_stored_corpus_is_what_the_phrases_compose() -> None:
    # The file in the repository is exactly what the written phrases and the seed give.
    composed = classify.write_corpus_lines(classify.compose_corpus(classify.read_phrases()))
    stored = resources.files("twonets.requests").joinpath(classify.CORPUS).read_text("utf-8")
    assert composed == stored


def test_held_out_wordings_never_appear_in_training() -> None:
    phrases = classify.read_phrases()["labels"]
    corpus = classify.load_corpus()
    for label, wordings in phrases.items():
        unseen = wordings[classify.TRAIN_WORDINGS :]
        for example in corpus:
            if example.label == label and example.split == "train":
                assert not any(w in example.text for w in unseen)


def test_the_model_beats_chance_by_far_on_the_held_out_split() -> None:
    result = classify.evaluate()
    assert result.test_size == 18 * classify.HELD_OUT
    chance = 1 / result.categories
    assert result.accuracy > 5 * chance
    assert 0 < result.macro_f1 <= 1


def test_proposals_come_with_their_confidence() -> None:
    model = classify.default_classifier()
    found = model.predict("增值税专用发票的领用额度不够，想申请提高", top=3)
    assert next(label for label, _ in found) == "ent-tax"
    assert len(found) == 3
    assert found[0][1] >= found[1][1] >= found[2][1]
    assert abs(sum(p for _, p in model.predict("你好", top=100)) - 1) < 1e-6


def test_the_evaluate_command_prints_accuracy_and_macro_f1() -> None:
    result = CliRunner().invoke(app, ["requests", "evaluate"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "corpus: 450 requests in 18 categories; trained on 342, held out 108"
    assert lines[1].startswith("accuracy: 0.")
    assert lines[2].startswith("macro-F1: 0.")
