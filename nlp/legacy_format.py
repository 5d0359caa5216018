"""The legacy referral CSV's columns (../shared/spec/interfaces.md): one definition for the
importer and the synthetic generator, with no Django imports so the generator stays pure."""

LEGACY_CSV_COLUMNS: tuple[str, ...] = (
    "reference",
    "received_date",
    "form_type",
    "role",
    "given_name",
    "family_name",
    "other_names",
    "date_of_birth",
    "sex",
    "address_line",
    "postcode",
    "nhs_number",
    "narrative",
)
LEGACY_CSV_REQUIRED_COLUMNS: tuple[str, ...] = ("reference", "received_date", "form_type", "role")
