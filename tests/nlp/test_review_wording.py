"""Theme wording the way published case reviews write it (sentences written for this test).

Reviewers describe a concern by what happened or what a parent did, not by the theme's name:
"educated him at home", "turned to drink", "injured at the hands of his father", "held by
separate agencies". Each case below states one such wording family; the last group shows words
that only look like a theme's word (a lemma shared with an unrelated word) and must not tag it.
"""

from __future__ import annotations

import pytest

ASSERTED = [
    # missing_education: home education written as a verb phrase; rarely in school; missing from education
    (
        "home-educate-verb",
        "After the school raised concerns, the parents decided to educate her at home.",
        "missing_education",
    ),
    (
        "rarely-in-school",
        "By the age of twelve he was rarely in school and spent his days on the estate.",
        "missing_education",
    ),
    (
        "missing-from-education",
        "The two youngest were missing from nursery and education services for a year.",
        "missing_education",
    ),
    # unsafe_sleep: asleep beside a parent or adult; suffocation while asleep; bedding over the face
    ("asleep-beside-parent", "The seven-week-old died while asleep beside his father after a party.", "unsafe_sleep"),
    ("suffocated-asleep", "Post-mortem findings pointed to asphyxia while she slept.", "unsafe_sleep"),
    ("bedding-over-face", "She was found in the morning with a blanket wrapped around her face.", "unsafe_sleep"),
    # physical_abuse: harm done by a parent, written without an injury noun
    (
        "deliberately-harmed",
        "The carer had deliberately given the toddler sedatives over several weeks.",
        "physical_abuse",
    ),
    ("at-the-hands-of", "The boy died from injuries at the hands of his stepfather.", "physical_abuse"),
    ("hurt-by-parent", "Most of the infants in the sample were killed by their parents.", "physical_abuse"),
    ("killed-own-child", "The father later admitted that he had smothered his son.", "physical_abuse"),
    (
        "repeatedly-injured",
        "The review describes a baby who was repeatedly injured in the months before his death.",
        "physical_abuse",
    ),
    ("inflicted-by", "He died from a head injury inflicted by his father.", "physical_abuse"),
    # neglect: parent unable to meet needs; uninhabitable homes; drugs the child ingested
    ("needs-not-met", "The couple failed to meet the baby's needs.", "neglect"),
    ("uninhabitable", "The caravan they lived in was uninhabitable.", "neglect"),
    ("drugs-ingested", "Methadone had been ingested by the toddler over several weeks.", "neglect"),
    # non_engagement: keeping professionals out; compliance as a front; hard to engage a parent
    ("prevented-access", "Dad repeatedly prevented the social worker from entering the house.", "non_engagement"),
    ("facade-compliance", "Both carers kept up a facade of cooperation with the social worker.", "non_engagement"),
    ("hard-to-engage-parent", "Services had great difficulty in engaging the mother throughout.", "non_engagement"),
    ("rejected-help", "She rejected offers of help from the family support worker.", "non_engagement"),
    # information_sharing: information held apart, not pieced together, no referral made
    (
        "held-apart",
        "The relevant history was held by different agencies and nobody saw all of it.",
        "information_sharing",
    ),
    (
        "did-not-communicate",
        "The nursery and the health visitor failed to communicate with one another.",
        "information_sharing",
    ),
    ("weak-joint-working", "There was very limited multi-agency work around the family.", "information_sharing"),
    ("no-referral", "The out-of-hours GP saw the bruise, but it did not result in a referral.", "information_sharing"),
    (
        "gaps-in-sharing",
        "There were gaps in obtaining and passing on information about the father.",
        "information_sharing",
    ),
    (
        "records-not-accessed",
        "The midwife did not access the maternity records from the previous pregnancy.",
        "information_sharing",
    ),
    # repeat_referrals: case history written as a cycle
    (
        "closure-then-deterioration",
        "Each step down was followed by deterioration and a fresh referral.",
        "repeat_referrals",
    ),
    ("repeated-alerts", "The school sent repeated alerts about the children's hunger.", "repeat_referrals"),
    # housing_instability: living on someone's sofa
    ("living-on-sofa", "The mother and baby were living on a friend's settee.", "housing_instability"),
    # parental_mental_health: coordinated "mental health and X" problems, struggling with wellbeing
    (
        "mh-and-substance",
        "Mental and physical health problems affected both parents throughout.",
        "parental_mental_health",
    ),
    (
        "struggled-wellbeing",
        "Mum struggled with her emotional wellbeing during the pandemic.",
        "parental_mental_health",
    ),
    # parental_substance_misuse: turning to drink or drugs
    ("turned-to-drink", "Money worries led the couple to turn to drink.", "parental_substance_misuse"),
    # emotional_abuse: confinement; rejection as something the child lived through
    ("confined-to-room", "The girl was confined to her bedroom for days at a time as punishment.", "emotional_abuse"),
    ("bouts-of-rejection", "The boy experienced repeated bouts of rejection.", "emotional_abuse"),
    # wording added after a second pass over reviewers' phrasing
    (
        "refused-professional-entry",
        "The father refused entry to the health visitor on two occasions.",
        "non_engagement",
    ),
    ("refused-worker-entry", "Mum refused the social worker entry when she called unannounced.", "non_engagement"),
    (
        "obstructed-from-seeing",
        "Dad obstructed school staff and health workers from seeing the children.",
        "non_engagement",
    ),
    (
        "difficulties-engaging-dad",
        "There were difficulties experienced by several services in engaging dad.",
        "non_engagement",
    ),
    ("nth-closure", "This was the fifth closure of the family's case in four years.", "repeat_referrals"),
    (
        "prescription-misuse",
        "Mother had been misusing prescription painkillers for years.",
        "parental_substance_misuse",
    ),
    ("animal-waste", "The kitchen floor was covered in animal waste.", "neglect"),
    ("emaciated", "The toddler was emaciated when admitted to hospital.", "neglect"),
    ("campaign-of-cruelty", "The review describes a campaign of cruelty by the boy's stepfather.", "physical_abuse"),
    (
        "injury-in-parent-care",
        "The baby suffered catastrophic brain injuries while in his father's care.",
        "physical_abuse",
    ),
    (
        "talk-to-each-other",
        "The agencies and services failed to talk to each other about the family.",
        "information_sharing",
    ),
    (
        "chances-to-share-missed",
        "Opportunities to share information with the school were missed.",
        "information_sharing",
    ),
    ("attendance-sporadic", "The children attended school only sporadically.", "missing_education"),
    ("soiled-cot", "The infant was often left lying in a soiled cot.", "neglect"),
    ("medical-needs-not-managed", "The boy's medical needs, including his epilepsy, were not managed.", "neglect"),
    ("conflict-and-violence", "The children were exposed to parental conflict and violence.", "domestic_abuse"),
    ("case-reopened", "The case was reopened within three months of closure.", "repeat_referrals"),
    (
        "each-referral-closed",
        "Each of the referrals was closed at the front door without assessment.",
        "repeat_referrals",
    ),
    ("nth-plan", "This was the family's third child protection plan.", "repeat_referrals"),
    ("coercion-and-control", "The relationship was characterised by coercion and control.", "domestic_abuse"),
    ("afraid-of-partner", "The mother described being frightened of her partner.", "domestic_abuse"),
    ("no-sleeping-space", "The family had no suitable sleeping space for the baby.", "unsafe_sleep"),
    ("had-to-leave-home", "The family had to leave their home after the landlord sold it.", "housing_instability"),
]

NOT_ASSERTED = [
    # a lemma shared with an unrelated word: "associated", "traffic", "depressing"; criminal grooming
    (
        "associated-not-associates",
        "The lockdown brought isolation and the associated pressures on the family.",
        "exploitation",
    ),
    ("road-traffic", "He was badly hurt in a road traffic accident on the bypass.", "exploitation"),
    (
        "depressing-not-depressed",
        "The social worker said the chronology made for a depressing read.",
        "parental_mental_health",
    ),
    ("criminal-grooming", "The boy had been groomed by drug dealers to carry packages.", "sexual_abuse"),
    # "missing" (a missing episode) is not a missed appointment
    (
        "missing-episode-not-missed",
        "The exploitation team reviewed the missing episode with the school.",
        "non_engagement",
    ),
    (
        "missing-episode-and-visits",
        "The review looked at each missing episode and the visits that followed.",
        "non_engagement",
    ),
    # children as "victims of abuse" is not abuse between adults
    ("victims-of-abuse", "Many children in the sample were victims of abuse and neglect.", "domestic_abuse"),
    # engagement between agencies, and notifications to the Panel, are about professionals
    (
        "engagement-between-agencies",
        "The review noted a lack of engagement between agencies and the fathers.",
        "non_engagement",
    ),
    ("panel-notifications", "The review considered 212 notifications made to the panel that year.", "repeat_referrals"),
]


@pytest.mark.parametrize(("text", "code"), [c[1:] for c in ASSERTED], ids=[c[0] for c in ASSERTED])
def test_review_wording_is_tagged(shipped_tagger, text: str, code: str) -> None:
    result = shipped_tagger.tag(text)
    assert code in result.codes, f"{code} not tagged: {sorted(result.codes)}"


@pytest.mark.parametrize(("text", "code"), [c[1:] for c in NOT_ASSERTED], ids=[c[0] for c in NOT_ASSERTED])
def test_look_alike_words_do_not_tag(shipped_tagger, text: str, code: str) -> None:
    result = shipped_tagger.tag(text)
    assert code not in result.codes, (
        f"{code} tagged: {[(e.text, e.pattern) for t in result.themes if t.code == code for e in t.evidence]}"
    )
