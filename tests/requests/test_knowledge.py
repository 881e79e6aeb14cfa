"""Matching requests to the knowledge base of policy answers (pure, no database)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from twonets.cli import app as cli
from twonets.requests import categories, knowledge

SEED = knowledge.seed_answers()
ENTRIES = [knowledge.Entry(i, a["question"]) for i, a in enumerate(SEED)]


def test_the_seed_answers_cover_the_demo_categories() -> None:
    assert len({a["code"] for a in SEED}) == len(SEED)
    for entry in SEED:
        categories.get_category(entry["category"])
        assert entry["answer"]
        assert entry["source"]


def test_a_paraphrase_reaches_its_answer_and_a_complaint_does_not() -> None:
    for text, code in (
        ("请问数电票的开票额度不够用了，怎么申请调整？", "kb-tax-invoice-quota"),
        ("出口退税一般多久能到账？", "kb-trade-export-rebate"),
        ("我们的货车需要办理进城通行证", "kb-logistics-truck-pass"),
    ):
        found = knowledge.best_match(text, ENTRIES)
        assert found is not None
        assert SEED[found.key]["code"] == code
        assert found.score >= knowledge.MATCH_THRESHOLD
    for text in (
        "隔壁工厂夜间噪音扰民严重",
        "我司申请的专项资金迟迟未拨付，已经超过承诺时限两个月",
    ):
        found = knowledge.best_match(text, ENTRIES)
        assert found is not None
        assert found.score < knowledge.MATCH_THRESHOLD


def test_nothing_to_match_is_no_match() -> None:
    assert knowledge.best_match("任何问题", []) is None
    assert knowledge.best_match("   ", ENTRIES) is None


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_a_score_is_a_cosine(text: str) -> None:
    found = knowledge.best_match(text, ENTRIES)
    if found is not None:
        assert 0.0 <= found.score <= 1.0 + 1e-9
        assert 0 <= found.key < len(ENTRIES)


def test_few_corpus_requests_are_answered_at_once_and_rightly() -> None:
    result = knowledge.check_against_corpus()
    assert result.requests == 350
    assert result.answered <= 5
    assert result.same_category == result.answered
    printed = CliRunner().invoke(cli, ["requests", "check-answers"])
    assert printed.exit_code == 0, printed.output
    assert f"answered at once: {result.answered} of 350" in printed.output
