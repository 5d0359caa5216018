"""Loads the 19 theme codes of shared/spec/themes.md (v1). Codes are a contract: never renamed."""

from django.db import migrations

THEMES = [
    (
        "neglect",
        "Neglect",
        "A child's physical, emotional or health needs not met: poor home conditions, hygiene, hunger, failure to thrive, developmental delay from neglect, missed immunisations or health checks.",
    ),
    (
        "non_engagement",
        "Non-engagement",
        "Parents missing appointments, a child 'was not brought', no access / no reply at home visits, disguised compliance, refusing or avoiding services.",
    ),
    (
        "domestic_abuse",
        "Domestic abuse",
        "Domestic abuse or violence between adults in the household, coercive control, arguments leading to police call-outs.",
    ),
    (
        "parental_mental_health",
        "Parental mental health",
        "Mental ill-health of a parent or carer (depression, anxiety, psychosis, post-natal depression, personality disorder).",
    ),
    ("parental_substance_misuse", "Parental substance misuse", "Alcohol or drug misuse by a parent or carer."),
    ("physical_abuse", "Physical abuse", "Non-accidental injury, bruising, fractures, hitting a child."),
    ("sexual_abuse", "Sexual abuse", "Child sexual abuse or child sexual exploitation."),
    (
        "emotional_abuse",
        "Emotional abuse",
        "Emotional abuse, rejection, hostility, a child exposed to harm described as emotional abuse.",
    ),
    (
        "invisible_men",
        "Invisible men",
        "Fathers, male partners or men in the household not known, not assessed or overlooked by professionals.",
    ),
    (
        "parental_adversity",
        "Parental adversity",
        "A parent's own childhood abuse or neglect, having been in care / a care leaver, a very young parent.",
    ),
    (
        "housing_instability",
        "Housing instability",
        "Frequent or abrupt moves, homelessness, temporary accommodation, unsuitable housing.",
    ),
    (
        "repeat_referrals",
        "Repeat referrals",
        "Repeated referrals or assessments to children's social care closed with no further action or no intervention.",
    ),
    (
        "child_not_seen",
        "Child not seen",
        "Children not seen or spoken to by professionals; the child's voice or lived experience missing.",
    ),
    (
        "professional_curiosity",
        "Professional curiosity",
        "Lack of professional curiosity: parents' accounts accepted at face value, concerns not explored.",
    ),
    (
        "information_sharing",
        "Information sharing",
        "Information not shared between agencies, records not linked, family history lost, poor communication between professionals.",
    ),
    (
        "missing_education",
        "Missing education",
        "A child removed from school or nursery, missing education, elective home education concerns, poor attendance.",
    ),
    (
        "exploitation",
        "Exploitation",
        "Child criminal exploitation, county lines, trafficking, gangs (sexual exploitation is tagged both sexual_abuse and exploitation).",
    ),
    ("self_harm", "Self-harm", "A child's self-harm, suicidal ideation or suicide."),
    ("unsafe_sleep", "Unsafe sleep", "Unsafe sleeping, co-sleeping, sudden unexpected death in infancy."),
]


def load(apps, schema_editor):
    Theme = apps.get_model("nlp", "Theme")
    for code, label, description in THEMES:
        Theme.objects.update_or_create(code=code, defaults={"label": label, "description": description})
    apps.get_model("nlp", "ThemeTaxonomyVersion").objects.get_or_create(pk=1, defaults={"version": 1})


def unload(apps, schema_editor):
    apps.get_model("nlp", "Theme").objects.filter(code__in=[c for c, _, _ in THEMES], tags__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("nlp", "0002_themes")]
    operations = [migrations.RunPython(load, unload)]
