import pytest
from django.core.exceptions import ValidationError

from intake.references import ALPHABET, reference_generate
from intake.validators import (
    email_domain_is_partner,
    is_valid_postcode,
    nhs_number_is_valid,
    normalise_postcode,
    validate_nhs_number,
    validate_uk_phone,
)


@pytest.mark.parametrize("number", ["943 476 5919", "9434765919", "401 023 2137"])
def test_valid_nhs_numbers_pass_the_modulus_11_check(number):
    assert nhs_number_is_valid(number)


@pytest.mark.parametrize("number", ["9434765918", "4010232138", "1234567890"])
def test_nhs_numbers_with_a_wrong_check_digit_fail(number):
    assert not nhs_number_is_valid(number)


@pytest.mark.parametrize(
    ("value", "code"),
    [("94347659", "nhs_length"), ("943476591X", "nhs_characters"), ("9434765918", "nhs_checksum")],
)
def test_nhs_number_errors_say_what_is_wrong(value, code):
    with pytest.raises(ValidationError) as error:
        validate_nhs_number(value)
    assert error.value.code == code


@pytest.mark.parametrize("postcode", ["ME4 4TR", "me44tr", " SW1A 1AA ", "EC1A1BB", "M1 1AE"])
def test_real_postcode_shapes_are_accepted(postcode):
    assert is_valid_postcode(postcode)


@pytest.mark.parametrize("postcode", ["", "ME4", "12345", "QQ1 1QQ", "ME4 4TRX"])
def test_impossible_postcodes_are_refused(postcode):
    assert not is_valid_postcode(postcode)


def test_postcodes_are_normalised_to_one_space_upper_case():
    assert normalise_postcode(" me4  4tr") == "ME4 4TR"


@pytest.mark.parametrize("phone", ["01632 960 001", "07700900982", "+44 808 157 0192"])
def test_uk_phone_numbers_are_accepted(phone):
    validate_uk_phone(phone)


@pytest.mark.parametrize("phone", ["123", "call me", "0800<script>"])
def test_bad_phone_numbers_are_refused(phone):
    with pytest.raises(ValidationError):
        validate_uk_phone(phone)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("a.nurse@nhs.net", True),
        ("sw@medway.gov.uk", True),
        ("pc@kent.police.uk", True),
        ("yot@cjsm.net", True),
        ("someone@gmail.com", False),
        ("spoof@notnhs.net", False),
        ("spoof@gov.uk.evil.com", False),
    ],
)
def test_partner_domains_match_exactly_or_by_subdomain(email, expected):
    patterns = ["nhs.net", "*.gov.uk", "*.police.uk", "cjsm.net"]
    assert email_domain_is_partner(email, patterns) is expected


def test_references_show_the_form_type_and_avoid_ambiguous_characters():
    refs = {reference_generate(form_type="practice_alert") for _ in range(500)}
    assert len(refs) == 500
    for ref in refs:
        prefix, first, second = ref.split("-")
        assert prefix == "PA"
        assert len(first) == len(second) == 4
        assert set(first + second) <= set(ALPHABET)
        assert not set(first + second) & set("01OIL5SZ2B8UV")
    assert reference_generate(form_type="case_review").startswith("CR-")
