"""Practice themes in the analytical wording of published case reviews.

Reviewers rarely write "the child was not seen"; they write that the focus drifted to the
parents, that a child became less visible or was hidden from services, that fathers were absent
from the work, that enquiries were not made or parents' own reports were relied on, and that
agencies relied on someone else to tell them or communicated little. Each sentence below was
written for these tests (none is taken from a labelled file or a published review) and states one
general rule:

- child_not_seen: the focus on the child lost, overshadowed or eclipsed by the adults' needs;
  a child less visible, out of sight of or hidden from professionals;
- invisible_men: fathers or men in the household out of professional view, absent from the
  work, not engaged, or an abuser who is not the focus of the work;
- professional_curiosity: enquiries not made, parents' self-report or positive response relied
  on, risk underestimated, a pattern not identified, nobody examining why;
- information_sharing: one agency relying on another to tell it, little communication between
  agencies, poor feedback to the referrer.

Near-misses keep the same words where they say something else.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # The child's needs pushed aside by the adults' problems.
        ("In this family the social workers lost their focus on the children for many months.", "child_not_seen"),
        ("Arguments about money overshadowed the needs of the baby throughout 2019.", "child_not_seen"),
        ("Work on his drinking went ahead without considering the impact on the children.", "child_not_seen"),
        ("Staff struggled to keep their focus on Child T while the parents' court case dominated.", "child_not_seen"),
        # A child out of professional sight.
        ("Once he left nursery, Child K became far less visible to health and social care.", "child_not_seen"),
        ("The girl was effectively hidden from her school and her GP for two years.", "child_not_seen"),
        ("After the move the children disappeared from professional view entirely.", "child_not_seen"),
        # Men left out of the work.
        ("Remote working kept the men in these families out of professional view.", "invisible_men"),
        ("Agencies showed little engagement with the fathers of the three children.", "invisible_men"),
        ("Work centred on the mother, with little focus on the perpetrator.", "invisible_men"),
        # Accounts relied on, questions not asked.
        ("The social worker did not make sufficient enquiries about the new partner.", "professional_curiosity"),
        ("The plan leaned on a positive response from the parents, not on an assessment.", "professional_curiosity"),
        ("During lockdown, self-reporting by parents replaced home visits.", "professional_curiosity"),
        ("The team underestimated the risk posed by the grandfather's return.", "professional_curiosity"),
        ("The team made no inquiries about the lodger.", "professional_curiosity"),
        ("Police failed to identify a pattern in the repeated call-outs.", "professional_curiosity"),
        # Agencies waiting on each other, or barely talking.
        ("Midwives relied on the GP surgery to inform them of any safeguarding history.", "information_sharing"),
        ("There was scant communication between the hospital and the police.", "information_sharing"),
        ("Feedback to the referrer was inconsistent and often missing.", "information_sharing"),
    ],
)
def test_review_wording_asserts_theme(shipped_tagger, text, code):
    assert code in shipped_tagger.tag(text).codes


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # The young mother's own contact with her father is family life, not professional practice.
        ("She has no contact with her father and lives with an aunt.", "invisible_men"),
        # A review report accepted by a board is procedure, not an account accepted at face value.
        ("The final report was accepted by the partnership board in May.", "professional_curiosity"),
        # Talking to the family is not communication between agencies.
        ("The nursery kept in close communication with the mother every day.", "information_sharing"),
    ],
)
def test_review_wording_near_misses(shipped_tagger, text, code):
    assert code not in shipped_tagger.tag(text).codes
