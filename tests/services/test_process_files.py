"""The platform's retirement and tax-and-fees processes, run through the simulator."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from services.process_files import PROCESSES
from twonets.cli import app

runner = CliRunner()
RETIREMENT = {
    "contribution_years_city": 20,
    "contribution_years_delta": 8,
    "average_wage": 12183,
    "indexed_wage": 1.2,
    "account_balance": 180000,
    "last_working_day": "2026-12-31",
    "fund_withdrawn": True,
}


def simulate(process: str, data: dict[str, object]) -> dict[str, object]:
    result = runner.invoke(
        app,
        [
            "services",
            "simulate",
            "--bpmn",
            str(PROCESSES / f"{process}.bpmn"),
            "--process",
            process,
            "--data",
            json.dumps(data),
        ],
    )
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.output)
    return answer


def test_retirement_counts_years_in_other_delta_regions_and_computes_the_pension() -> None:
    answer = simulate("retirement", RETIREMENT)

    assert answer["status"] == "completed"
    completed = answer["completed"]
    assert isinstance(completed, list)
    assert completed[0] == "employer_confirms"
    # The city's check and Jiangsu's confirmation run in parallel.
    assert set(completed[1:3]) == {"check_contribution_years", "confirm_delta_years"}
    assert completed[3] == "compute_pension"
    assert set(completed[4:6]) == {"transfer_medical_insurance", "withdraw_housing_fund"}
    assert completed[6:] == ["record_retired"]
    data = answer["data"]
    assert isinstance(data, dict)
    assert data["years"] == 28
    # 12,183 × (1 + 1.2) / 2 × 28 × 1% and 180,000 / 139 months
    assert data["basic_pension"] == 3752.36
    assert data["account_pension"] == 1294.96
    assert data["monthly_pension"] == 5047.32
    assert data["outcome"] == "retired"


def test_retirement_with_too_few_years_ends_after_the_check() -> None:
    answer = simulate(
        "retirement", {**RETIREMENT, "contribution_years_city": 10, "contribution_years_delta": 4}
    )

    assert answer["completed"] == [
        "employer_confirms",
        "check_contribution_years",
        "confirm_delta_years",
        "record_too_few_years",
    ]
    data = answer["data"]
    assert isinstance(data, dict)
    assert (data["outcome"], data["reason"]) == (
        "too-few-years",
        "fewer than 15 years of contributions",
    )


def test_tax_and_fees_waits_for_the_one_payment_after_three_parallel_reviews() -> None:
    answer = simulate(
        "tax_and_fees", {"vat_sales": 1_000_000, "input_vat": 60_000, "payroll": 500_000}
    )

    assert answer["status"] == "waiting"
    assert answer["waiting"] == [
        {"kind": "message", "activity": "payment_received", "message": "payment"}
    ]
    completed = answer["completed"]
    assert isinstance(completed, list)
    assert completed[0] == "compute_amounts"
    assert set(completed[1:]) == {"review_tax", "review_social_insurance", "review_housing_fund"}
    data = answer["data"]
    assert isinstance(data, dict)
    assert data["vat_due"] == 70_000
    assert data["social_insurance_due"] == 130_000
    assert data["housing_fund_due"] == 35_000
    assert data["total_due"] == 235_000
    assert "receipt_total" not in data


@settings(max_examples=25, deadline=None)
@given(
    years=st.integers(min_value=0, max_value=45),
    delta=st.integers(min_value=0, max_value=20),
)
def test_retirement_needs_fifteen_years_wherever_they_were_paid(years: int, delta: int) -> None:
    answer = simulate(
        "retirement",
        {**RETIREMENT, "contribution_years_city": years, "contribution_years_delta": delta},
    )

    data = answer["data"]
    assert isinstance(data, dict)
    assert data["outcome"] == ("retired" if years + delta >= 15 else "too-few-years")


@settings(max_examples=25, deadline=None)
@given(
    sales=st.integers(min_value=0, max_value=10**9),
    input_vat=st.integers(min_value=0, max_value=10**8),
    payroll=st.integers(min_value=0, max_value=10**8),
)
def test_the_one_filing_total_is_the_sum_of_its_parts(
    sales: int, input_vat: int, payroll: int
) -> None:
    answer = simulate(
        "tax_and_fees", {"vat_sales": sales, "input_vat": input_vat, "payroll": payroll}
    )

    data = answer["data"]
    assert isinstance(data, dict)
    parts = data["vat_due"] + data["social_insurance_due"] + data["housing_fund_due"]
    assert abs(data["total_due"] - parts) < 0.015
    assert data["vat_due"] >= 0
