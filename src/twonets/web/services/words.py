"""The words of the services' screens: steps, statuses, lanes, fields and refusals.

The menu entries of these screens (web/navigation.py) are translated from this part's
catalogue too: their texts are marked here, where the services' translators find them.
"""

from __future__ import annotations

from fastapi import Request

from twonets.core.errors import TwonetsError
from twonets.web import i18n
from twonets.web.i18n import N_

MENU = (
    N_("One-thing services"),
    N_("Apply once for a service that needs several departments, and follow every step"),
    N_("Service tasks"),
    N_("Steps of applications waiting for your department: claim, complete, ask for material"),
    N_("Service figures"),
    N_("One-thing services by month: contactless rate, handling time, overdue steps"),
)

PROCESSES = {
    "nev_plate": N_("New-energy vehicle plate"),
    "retirement": N_("Employee retirement"),
    "tax_and_fees": N_("Enterprise tax and fees in one filing"),
}
PROCESS_NOTES = {
    "nev_plate": N_(
        "For a new-energy vehicle: a residence record or 36 months of social insurance in the "
        "city, no plate in your name yet, and a charging point for the vehicle. The district, "
        "the transport commission and the police handle it; the plate certificate comes to "
        "your wallet."
    ),
    "retirement": N_(
        "For an employee reaching retirement: your employer confirms, social security checks "
        "the years you paid in the city and in Jiangsu and computes your pension, then medical "
        "insurance is transferred and the housing provident fund paid out."
    ),
    "tax_and_fees": N_(
        "One filing for value-added tax, social insurance and the housing provident fund: "
        "the three are reviewed in parallel, then you pay once and get one receipt."
    ),
}
# What the desk reads for each service's form, with consent (in the consent's sentence).
PREFILL_RECORDS = {
    "nev_plate": N_("your residence record and the licences in your wallet"),
    "retirement": N_("your residence record and your date of birth"),
}
STEPS = {
    "confirm_charging_point": N_("Confirm the charging point"),
    "register_vehicle": N_("Register the vehicle"),
    "allocate_plate": N_("Allocate the plate"),
    "issue_certificate": N_("Issue the plate certificate"),
    "employer_confirms": N_("The employer confirms the retirement"),
    "check_contribution_years": N_("Check the contribution years paid in the city"),
    "confirm_delta_years": N_("Jiangsu confirms the years paid there"),
    "check_delta_years_by_hand": N_("Check the years paid in Jiangsu by hand"),
    "transfer_medical_insurance": N_("Transfer the medical insurance"),
    "withdraw_housing_fund": N_("Withdraw the housing provident fund"),
    "review_tax": N_("Review the tax declaration"),
    "review_social_insurance": N_("Review the social insurance contributions"),
    "review_housing_fund": N_("Review the housing provident fund contributions"),
    "payment_received": N_("Payment received"),
}
LANES = {
    "operations": N_("District operations centre"),
    "transport": N_("Transport commission"),
    "police": N_("Public security"),
    "employer": N_("the employer"),
    "social-security": N_("Human resources and social security"),
    "medical-insurance": N_("Medical insurance"),
    "housing-fund": N_("Housing provident fund"),
    "applicant": N_("you"),
    "tax": N_("Tax bureau"),
}
REGIONS = {"JS": N_("Jiangsu"), "ZJ": N_("Zhejiang"), "AH": N_("Anhui")}
# "{region}: {department}", for a step worked in another region.
IN_REGION = N_("%(department)s of %(region)s")
APPLICATION_STATUSES = {
    "running": N_("In progress"),
    "returned": N_("Material needed"),
    "completed": N_("Completed"),
    "rejected": N_("Refused"),
}
STEP_STATUSES = {
    "open": N_("Waiting"),
    "claimed": N_("Being handled"),
    "returned": N_("Waiting for material"),
    "done": N_("Done"),
    "rejected": N_("Refused"),
    "closed": N_("Stopped"),
}
OUTCOMES = {
    "issued": N_("The plate certificate is in your wallet"),
    "not-eligible": N_("Not eligible"),
    "rejected": N_("Refused"),
    "retired": N_("Retired: the pension is paid from next month"),
    "too-few-years": N_("Fewer than 15 years of contributions"),
    "paid": N_("Paid: one receipt for everything"),
}
REASONS = {
    "already holds a plate": N_("You already hold a plate."),
    "no charging point for the vehicle": N_("There is no charging point for the vehicle."),
    "neither a residence record nor 36 months of social insurance": N_(
        "Neither a residence record nor 36 months of social insurance in the city."
    ),
}
ACTIONS = {
    "applied": N_("Applied"),
    "claimed": N_("Taken on"),
    "step-completed": N_("Step done"),
    "returned": N_("Material asked for"),
    "material-supplied": N_("Material supplied"),
    "rejected": N_("Refused"),
    "escalated": N_("Overdue: escalated"),
    "migrated": N_("Moved to a new process version"),
    "completed": N_("Completed"),
    "consented": N_("Consented to prefilling from government records"),
    "timer-fired": N_("Time limit reached"),
    "remote-replied": N_("Another region replied"),
    "paid": N_("Paid"),
    "material-uploaded": N_("File uploaded"),
    "timer-parked": N_("Time limit's follow-on work failed repeatedly: stopped"),
    "timer-retried": N_("Time limit's follow-on work retried by staff"),
}
FIELDS = {
    "district_code": N_("District handling the application"),
    "has_residence": N_("I have a residence record in the city"),
    "social_insurance_months": N_("Months of social insurance in the city"),
    "plates_held": N_("Plates in my name"),
    "charging_point": N_("I have a charging point for the vehicle"),
    "vin": N_("Vehicle identification number"),
    "vehicle_model": N_("Vehicle model"),
    "charging_point_id": N_("Charging point number"),
    "registration_number": N_("Registration number"),
    "plate": N_("Plate"),
    "charging_point_photo": N_("Photo of the charging point"),
    "residence_permit": N_("Residence permit"),
    "social_insurance_record": N_("Social insurance record"),
    "vehicle_invoice": N_("Vehicle purchase invoice"),
    "reason": N_("Reason"),
    "missing": N_("Material needed"),
    "applicant_name": N_("Full name"),
    "applicant_id_number": N_("ID number"),
    "district": N_("District"),
    "employer_credit_code": N_("Employer's unified social credit code"),
    "birth_date": N_("Date of birth"),
    "contribution_years_city": N_("Years of contributions in the city"),
    "contribution_years_delta": N_("Years of contributions in Jiangsu"),
    "indexed_wage": N_("Your average wage index"),
    "account_balance": N_("Personal pension account balance (yuan)"),
    "last_working_day": N_("Last working day"),
    "fund_withdrawn": N_("Housing fund paid out (yuan)"),
    "vat_sales": N_("Sales this month (yuan)"),
    "input_vat": N_("Input VAT (yuan)"),
    "payroll": N_("Payroll this month (yuan)"),
    "employment_record": N_("Employment record"),
    "delta_contribution_record": N_("Record of contributions in Jiangsu"),
    "household_register": N_("Household register"),
    "sales_ledger": N_("Sales ledger"),
    "payroll_register": N_("Payroll register"),
    "input_invoices": N_("Input VAT invoices"),
    "years": N_("Years of contributions"),
    "basic_pension": N_("Basic pension (yuan a month)"),
    "account_pension": N_("Personal account pension (yuan a month)"),
    "monthly_pension": N_("Pension (yuan a month)"),
    "vat_due": N_("Value-added tax (yuan)"),
    "social_insurance_due": N_("Social insurance (yuan)"),
    "housing_fund_due": N_("Housing provident fund (yuan)"),
    "total_due": N_("Total due (yuan)"),
    "paid_amount": N_("Paid (yuan)"),
    "payment_transaction": N_("Payment transaction"),
}
ORIGINS = {
    "verified": N_("as the government holds it"),
    "declared": N_("declared by the applicant"),
    "account": N_("from the applicant's account"),
}
RULES = {
    "required": N_("%(field)s: please fill this in."),
    "integer": N_("%(field)s: enter a whole number."),
    "range": N_("%(field)s: this number is outside what the form allows."),
    "number": N_("%(field)s: enter a number."),
    "size": N_("%(field)s: the file is larger than 5 MB."),
    "content-type": N_("%(field)s: send a photo (JPEG, PNG, WebP) or a PDF."),
    "count": N_("%(field)s: too many files for this item."),
    "asked": N_("%(field)s: this was not asked for."),
    "length": N_("%(field)s: this is too long."),
    "district": N_("%(field)s: choose one of the city's districts."),
}
OTHERWISE = N_("%(field)s: please check this.")


def lane_words(lane: str) -> str:
    """Who works a lane, in the page's language (a region's department names its region)."""
    code = i18n.current_language().code
    region, _, function = lane.rpartition(":")
    department = i18n.translate(code, LANES.get(function, function))
    if not region:
        return department
    return i18n.translate(code, IN_REGION) % {
        "department": department,
        "region": i18n.translate(code, REGIONS.get(region, region)),
    }


def field_words(request: Request, error: TwonetsError) -> dict[str, str]:
    """Each refused field's message in the page's language, keyed by the form's field name."""
    language = i18n.language_of(request).code
    words: dict[str, str] = {}
    named = [(p.field, p.rule) for p in error.errors]
    if not named and error.extra.get("field"):  # a refused file names its field apart
        named = [(str(error.extra["field"]), str(error.extra.get("rule", "")))]
    for field, rule_name in named:
        name = field.removeprefix("data.")
        label = i18n.translate(language, FIELDS.get(name, name))
        rule = i18n.translate(language, RULES.get(rule_name, OTHERWISE))
        words[name] = rule % {"field": label}
    return words
