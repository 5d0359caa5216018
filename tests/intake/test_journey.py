"""Both journeys walked end to end, branch by branch, with the Django test client and a real database."""

from __future__ import annotations

import re

import pytest

from intake import steps
from intake.models import Draft, FormType, Person, Referral
from tests.intake.journey_walk import (
    Journey,
    adult,
    agency_row,
    case_review_answers,
    child,
    date_parts,
    days_ago,
    formset,
    practice_alert_answers,
    step_post,
)
from triage.services import reference_data_load


@pytest.fixture(autouse=True)
def _agencies(db):
    reference_data_load()


def test_a_practice_alert_walked_to_the_end_creates_one_referral_with_its_people(client):
    journey = Journey(client, FormType.PRACTICE_ALERT)

    response = journey.walk(practice_alert_answers())

    assert "/confirmation/" in response["Location"]
    referral = Referral.objects.get()
    assert referral.form_type == FormType.PRACTICE_ALERT
    assert re.fullmatch(r"PA-[0-9A-Z]{4}-[0-9A-Z]{4}", referral.reference)
    assert referral.alert_type == "incident"
    assert referral.event_date == days_ago(7)
    assert referral.what_happened == "The baby was left alone."
    assert referral.learning_identified == "Share missed appointments."
    assert referral.referrer.full_name == "Sam Referrer"
    assert referral.referrer.safeguarding_lead_consulted == "yes"
    assert referral.referrer.lead_email == "lee.lead@nhs.net"
    assert list(referral.people.values_list("role", "position")) == [("child", 1), ("mother", 2)]
    child_row = referral.people.get(role="child")
    assert child_row.postcode == "ME4 4TR"
    assert child_row.nhs_number == "9434765919"
    assert child_row.aliases == ["Addy"]
    assert list(referral.agencies_involved.values_list("agency_name", flat=True)) == ["Police"]
    assert referral.answers[steps.ABOUT_YOU]["email"] == "sam.referrer@nhs.net"
    page = client.get(response["Location"]).content.decode()
    assert "govuk-panel" in page
    assert referral.reference in page
    assert "What happens next" in page


def test_a_case_review_without_a_safeguarding_lead_skips_the_lead_details_page(client):
    journey = Journey(client, FormType.CASE_REVIEW)
    asked: list[str] = []
    answers = case_review_answers()

    step = journey.next_step()
    while step is not None:
        asked.append(step)
        response = journey.post(step, answers[step])
        assert response.status_code == 302, step
        found = re.search(r"/([a-z-]+)/$", response["Location"])
        assert found is not None
        step = found.group(1)
        if step == "confirmation":
            break

    assert steps.LEAD_DETAILS not in asked
    assert steps.SENIOR_LEAD in asked
    assert steps.PARALLEL_PROCESSES in asked
    referral = Referral.objects.get()
    assert referral.form_type == FormType.CASE_REVIEW
    assert referral.reference.startswith("CR-")
    assert referral.review_type == "cspr"
    assert referral.criteria_died_or_seriously_harmed == "yes"
    assert referral.criteria_multi_agency_learning == "not_sure"
    assert referral.parallel_processes["police_investigation"] == "yes"
    assert referral.parallel_processes["family_court"] == "not_known"
    assert referral.parallel_processes_details == "Police reference 123/24"
    assert referral.case_outline == "Known to health visiting since birth."
    assert referral.referrer.safeguarding_lead_consulted == "no"
    assert referral.referrer.lead_name == ""
    assert referral.referrer.senior_lead_agreed == "yes"
    assert referral.switched_from_practice_alert is False


def test_a_practice_alert_with_a_safeguarding_lead_asks_for_their_details(client):
    journey = Journey(client)
    answers = practice_alert_answers()
    journey.walk(answers, until=steps.EVENT)

    assert steps.LEAD_DETAILS in journey.draft.data["wizard"]["step_data"]


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (
            {"birth_info": "date_of_birth", **date_parts("date_of_birth", days_ago(400))},
            {"date_of_birth": days_ago(400), "age_years": None, "is_unborn": False, "expected_date": None},
        ),
        (
            {"birth_info": "age", "age_years": "6", **date_parts("date_of_birth", days_ago(400))},
            {"date_of_birth": None, "age_years": 6, "is_unborn": False, "expected_date": None},
        ),
        (
            {"birth_info": "unborn", **date_parts("expected_date", days_ago(-60)), "age_years": "3"},
            {"date_of_birth": None, "age_years": None, "is_unborn": True, "expected_date": days_ago(-60)},
        ),
    ],
    ids=["date-of-birth", "age", "unborn"],
)
def test_a_child_can_be_given_by_date_of_birth_age_or_as_unborn(client, birth, expected):
    journey = Journey(client)
    answers = practice_alert_answers(**{steps.CHILDREN: formset([child(**birth)])})

    journey.walk(answers)

    person = Person.objects.get(role="child")
    assert {name: getattr(person, name) for name in expected} == expected


def test_several_children_and_adults_are_stored_in_order(client):
    journey = Journey(client, FormType.CASE_REVIEW)
    children = [child(given_name="Ada"), child(given_name="Ben", birth_info="age", age_years="2")]
    adults = [adult(role="mother"), adult(role="partner", given_name="Carl"), adult(role="carer", given_name="Dee")]
    answers = case_review_answers(**{steps.CHILDREN: formset(children), steps.ADULTS: formset(adults)})
    answers[steps.AGENCIES] = formset([agency_row(), agency_row(agency_name="School")])

    journey.walk(answers)

    referral = Referral.objects.get()
    people = list(referral.people.values_list("position", "role", "given_name"))
    assert people == [
        (1, "child", "Ada"),
        (2, "child", "Ben"),
        (3, "mother", "Grace"),
        (4, "partner", "Carl"),
        (5, "carer", "Dee"),
    ]
    assert referral.agencies_involved.count() == 2


def test_add_another_child_keeps_what_was_typed_and_adds_an_empty_child(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHILDREN)

    response = journey.post(steps.CHILDREN, formset([child(given_name="Typed")]), action="add")

    # Redirected (a refresh adds nothing more) to the new child's first field, which the fragment focuses.
    assert response.status_code == 302
    assert response["Location"] == journey.url(steps.CHILDREN) + "#id_children-1-given_name"
    page = journey.get(steps.CHILDREN).content.decode()
    assert 'value="Typed"' in page
    assert "Child 2" in page
    assert 'id="id_children-1-given_name"' in page
    assert 'name="children-TOTAL_FORMS" value="2"' in page
    assert "There is a problem" not in page


def test_add_another_adult_focuses_the_new_adults_first_radio(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.ADULTS)

    response = journey.post(steps.ADULTS, formset([adult()]), action="add")

    assert response["Location"] == journey.url(steps.ADULTS) + "#id_adults-1-role_0"
    assert 'id="id_adults-1-role_0"' in journey.get(steps.ADULTS).content.decode()


def test_remove_takes_out_only_the_chosen_child_and_focuses_a_sentence_saying_so(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHILDREN)
    rows = [child(given_name="First"), child(given_name="Second"), child(given_name="Third")]

    response = journey.post(steps.CHILDREN, formset(rows), action="remove-1")

    assert response["Location"] == journey.url(steps.CHILDREN) + "#children-count"
    page = journey.get(steps.CHILDREN).content.decode()
    assert 'value="First"' in page
    assert 'value="Third"' in page
    assert 'value="Second"' not in page
    assert 'name="children-TOTAL_FORMS" value="2"' in page
    assert (
        '<p class="govuk-body" id="children-count" tabindex="-1">Child 2 removed. You are adding 2 children.</p>'
        in page
    )
    # Said once: a refresh or a later visit does not repeat it.
    assert "Child 2 removed." not in journey.get(steps.CHILDREN).content.decode()


def test_add_and_remove_on_a_change_link_stay_in_change_mode(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHECK_ANSWERS)

    added = journey.post(steps.AGENCIES, formset([agency_row()]), action="add", query="?change=1")
    removed = journey.post(steps.AGENCIES, formset([agency_row(), agency_row()]), action="remove-0", query="?change=1")

    assert added["Location"] == journey.url(steps.AGENCIES, "?change=1") + "#id_agencies-involved-1-agency_name"
    assert removed["Location"] == journey.url(steps.AGENCIES, "?change=1") + "#agencies-involved-count"


def test_the_page_uses_no_inline_script_to_move_focus(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHILDREN)
    journey.post(steps.CHILDREN, formset([child()]), action="add")

    page = journey.get(steps.CHILDREN).content.decode()

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert " onclick=" not in page
    assert " onload=" not in page


def test_a_practice_alert_about_death_or_serious_harm_through_abuse_is_told_to_switch(client):
    journey = Journey(client)
    answers = practice_alert_answers(
        **{steps.SERIOUS_INCIDENT: {"died_or_seriously_harmed": "yes", "abuse_or_neglect_suspected": "yes"}}
    )
    journey.walk(answers, until=steps.SWITCH_ADVICE)

    page = journey.get(steps.SWITCH_ADVICE).content.decode()

    assert "This should be a case review referral" in page
    assert "Change to a case review referral" in page


def test_no_switch_advice_when_only_one_serious_incident_answer_is_yes(client):
    journey = Journey(client)
    answers = practice_alert_answers(
        **{steps.SERIOUS_INCIDENT: {"died_or_seriously_harmed": "yes", "abuse_or_neglect_suspected": "not_sure"}}
    )
    journey.walk(answers)

    assert Referral.objects.get().form_type == FormType.PRACTICE_ALERT


def test_switching_carries_the_answers_into_a_new_case_review_and_closes_the_alert(client):
    alert = Journey(client)
    answers = practice_alert_answers(
        **{steps.SERIOUS_INCIDENT: {"died_or_seriously_harmed": "yes", "abuse_or_neglect_suspected": "yes"}}
    )
    alert.walk(answers, until=steps.SWITCH_ADVICE)

    response = alert.post(steps.SWITCH_ADVICE, {"choice": "switch"})

    new_draft = Draft.objects.exclude(key=alert.key).get()
    assert new_draft.form_type == FormType.CASE_REVIEW
    assert response["Location"] == f"/case_review/{new_draft.key}/"
    carried = new_draft.data["wizard"]["step_data"]
    assert carried[steps.ABOUT_YOU]["about-you-full_name"] == ["Sam Referrer"]
    assert carried[steps.CHILDREN]["children-0-given_name"] == ["Ada"]
    # The case review asks more than the alert did: those pages keep the carried answers to finish.
    assert new_draft.data["partial"][steps.REVIEW]["review-event_date_2"] == [str(days_ago(7).year)]
    assert new_draft.data["partial"][steps.CRITERIA]["criteria-died_or_seriously_harmed"] == ["yes"]
    assert alert.draft.data == {"meta": {"switched_to": str(new_draft.key)}}
    closed = alert.get(steps.ABOUT_YOU)
    assert closed.status_code == 410
    assert "now a case review referral" in closed.content.decode()

    first = client.get(response["Location"])
    assert first["Location"].endswith(f"/{steps.SENIOR_LEAD}/")
    banner = client.get(first["Location"]).content.decode()
    assert "Your answers have been copied into a case review referral" in banner
    review_page = client.get(f"/case_review/{new_draft.key}/{steps.REVIEW}/")
    assert review_page.status_code == 302  # senior lead comes first
    case_review = Journey.__new__(Journey)
    case_review.client, case_review.form_type = client, FormType.CASE_REVIEW
    case_review.base, case_review.key = f"/case_review/{new_draft.key}/", str(new_draft.key)
    review_html = None
    for step, step_answers in case_review_answers().items():
        if step in carried:
            continue
        if step == steps.REVIEW:
            review_html = case_review.get(step).content.decode()
        case_review.post(step, step_answers)
    assert review_html is not None
    assert f'value="{days_ago(7).year}"' in review_html
    referral = Referral.objects.get()
    assert referral.form_type == FormType.CASE_REVIEW
    assert referral.switched_from_practice_alert is True
    assert referral.people.get(role="child").given_name == "Ada"


def test_carrying_on_with_the_practice_alert_keeps_it_a_practice_alert(client):
    journey = Journey(client)
    answers = practice_alert_answers(
        **{steps.SERIOUS_INCIDENT: {"died_or_seriously_harmed": "yes", "abuse_or_neglect_suspected": "yes"}},
        **{steps.SWITCH_ADVICE: {"choice": "continue"}},
    )

    journey.walk(answers)

    referral = Referral.objects.get()
    assert referral.form_type == FormType.PRACTICE_ALERT
    assert referral.criteria_died_or_seriously_harmed == "yes"
    assert Draft.objects.count() == 1


def test_a_change_link_returns_to_check_answers_after_the_edit(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHECK_ANSWERS)
    check = journey.get(steps.CHECK_ANSWERS).content.decode()
    assert f"{journey.url(steps.ABOUT_YOU)}?change=1" in check

    page = journey.get(steps.ABOUT_YOU, "?change=1").content.decode()
    assert f'href="{journey.url(steps.CHECK_ANSWERS)}"' in page  # the back link
    response = journey.post(
        steps.ABOUT_YOU, practice_alert_answers()[steps.ABOUT_YOU] | {"team": "South"}, query="?change=1"
    )

    assert response["Location"] == journey.url(steps.CHECK_ANSWERS)
    assert "South" in journey.get(steps.CHECK_ANSWERS).content.decode()


def test_a_change_that_opens_a_new_question_asks_it_before_returning_to_check_answers(client):
    journey = Journey(client)
    answers = practice_alert_answers(**{steps.SAFEGUARDING_LEAD: {"consulted": "no"}})
    journey.walk(answers, until=steps.CHECK_ANSWERS)

    response = journey.post(steps.SAFEGUARDING_LEAD, {"consulted": "yes"}, query="?change=1")
    assert response["Location"] == journey.url(steps.LEAD_DETAILS, "?change=1")

    response = journey.post(steps.LEAD_DETAILS, practice_alert_answers()[steps.LEAD_DETAILS], query="?change=1")
    assert response["Location"] == journey.url(steps.CHECK_ANSWERS)
    assert "lee.lead@nhs.net" in journey.get(steps.CHECK_ANSWERS).content.decode()


def test_back_links_lead_to_the_previous_page_with_its_answers_kept(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.EVENT)

    event_page = journey.get(steps.EVENT).content.decode()
    assert 'class="govuk-back-link"' in event_page
    assert f'href="{journey.url(steps.LEAD_DETAILS)}" class="govuk-back-link"' in event_page
    lead_page = journey.get(steps.LEAD_DETAILS).content.decode()
    assert 'value="Lee Lead"' in lead_page


def test_a_page_cannot_be_opened_before_the_questions_before_it_are_answered(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.EVENT)

    response = journey.get(steps.WHAT_HAPPENED)

    assert response["Location"] == journey.url(steps.EVENT)


def test_stale_answers_are_revalidated_when_sending(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.DECLARATION)
    # The event date moves before the child's birth after the child page was answered.
    draft = journey.draft
    draft.data["wizard"]["step_data"][steps.EVENT].update(
        {f"{steps.EVENT}-event_date_{i}": [v] for i, v in enumerate(("1", "1", "2015"))}
    )
    draft.save()

    response = journey.post(steps.DECLARATION, practice_alert_answers()[steps.DECLARATION])

    assert response["Location"] == journey.url(steps.CHILDREN)
    page = journey.get(steps.CHILDREN).content.decode()
    assert "Date of birth must be before the date of the event" in page
    assert Referral.objects.count() == 0


def test_a_question_page_has_one_h1_a_unique_title_and_labelled_fields(client):
    journey = Journey(client)
    titles = set()
    answers = practice_alert_answers()
    for step in (steps.ABOUT_YOU, steps.SAFEGUARDING_LEAD, steps.LEAD_DETAILS, steps.EVENT, steps.CHILDREN):
        page = journey.get(step).content.decode()
        assert page.count("<h1") == 1, step
        title = re.search(r"<title>(.*?)</title>", page, re.S)
        assert title is not None
        titles.add(title.group(1).strip())
        for input_id in re.findall(r'<input class="govuk-(?:input|radios__input)[^"]*" id="([^"]+)"', page):
            assert f'for="{input_id}"' in page, (step, input_id)
        journey.post(step, answers[step])
    assert len(titles) == 5


def test_an_error_page_title_starts_with_error_and_the_summary_links_to_the_field(client):
    journey = Journey(client)

    response = journey.post(steps.ABOUT_YOU, {})

    page = response.content.decode()
    assert re.search(r"<title>\s*Error: About you", page)
    assert '<a href="#id_about-you-full_name">Enter your full name</a>' in page
    assert 'id="id_about-you-full_name-error"' in page
    assert 'aria-describedby="id_about-you-full_name-error"' in page


def test_the_journey_start_page_binds_a_new_draft_to_the_browser(client):
    response = client.get("/case_review/start/")

    draft = Draft.objects.get()
    assert response["Location"] == f"/case_review/{draft.key}/"
    assert str(draft.key) in client.session["intake_drafts"]
    assert client.get("/unknown/start/").status_code == 404


def test_step_post_helper_posts_the_fields_the_page_renders(client):
    # Guards the test helper itself: the names it posts are the names the page uses.
    journey = Journey(client)
    page = journey.get(steps.ABOUT_YOU).content.decode()
    for name in step_post(steps.ABOUT_YOU, practice_alert_answers()[steps.ABOUT_YOU]):
        if name.startswith(f"{steps.ABOUT_YOU}-"):
            assert f'name="{name}"' in page
