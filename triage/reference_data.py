"""Default reference data, loaded by `manage.py load_reference_data` (idempotent)."""

from intake.models import AgencyKind

AGENCIES: list[tuple[str, str]] = [
    ("Police", AgencyKind.POLICE),
    ("Integrated Care Board", AgencyKind.HEALTH),
    ("NHS hospital trust", AgencyKind.HEALTH),
    ("NHS community health (health visiting, school nursing)", AgencyKind.HEALTH),
    ("GP practice", AgencyKind.HEALTH),
    ("Mental health services", AgencyKind.HEALTH),
    ("Ambulance service", AgencyKind.HEALTH),
    ("School or college", AgencyKind.EDUCATION),
    ("Early years setting or nursery", AgencyKind.EDUCATION),
    ("Local authority education service", AgencyKind.EDUCATION),
    ("Children's social care", AgencyKind.SOCIAL_CARE),
    ("Early help", AgencyKind.SOCIAL_CARE),
    ("Adult social care", AgencyKind.SOCIAL_CARE),
    ("Housing", AgencyKind.HOUSING),
    ("Probation service", AgencyKind.PROBATION),
    ("Youth justice service", AgencyKind.PROBATION),
    ("Substance misuse service", AgencyKind.VOLUNTARY),
    ("Domestic abuse service", AgencyKind.VOLUNTARY),
    ("Voluntary or community organisation", AgencyKind.VOLUNTARY),
]

SUBGROUPS: list[tuple[str, str, str]] = [
    (
        "learning-lessons",
        "Learning Lessons Subgroup",
        "Partnership practice alerts: incidents, adverse events, near misses and good practice.",
    ),
    (
        "case-review",
        "Case Review Subgroup",
        "Serious incidents, rapid reviews and local child safeguarding practice reviews.",
    ),
    ("quality-assurance", "Performance and Quality Assurance Subgroup", "Multi-agency audits and learning events."),
    ("policy-procedures", "Policy and Procedures Group", "Issues that need a change to multi-agency procedures."),
]

# Staff roles are Django groups; permissions are attached by the triage issue.
STAFF_GROUPS: list[str] = ["Business unit", "Subgroup member"]

# Model permissions for the business unit in the admin (codename prefixes per app.model).
# Referrals are view-only; reference data and the theme taxonomy are theirs to maintain.
BUSINESS_UNIT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "intake.referral": ("view",),
    "intake.person": ("view",),
    "intake.emailoutbox": ("view", "change"),
    "intake.agency": ("view", "add", "change"),
    "triage.subgroup": ("view", "add", "change"),
    "nlp.theme": ("view", "add", "change"),
    "nlp.themephrase": ("view", "add", "change"),
    "nlp.themetag": ("view",),
    "nlp.themetagreview": ("view", "add"),
    "nlp.referrallink": ("view",),
    "nlp.matchdecision": ("view", "add"),
    "nlp.family": ("view", "add", "change"),
}
