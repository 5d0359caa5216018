from django import forms

from intake.templatetags.govuk import govuk_kind


class _Choices(forms.Form):
    many = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.CheckboxSelectMultiple)
    one = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect)


def test_multiple_choice_checkboxes_render_as_checkboxes_not_radios():
    # CheckboxSelectMultiple subclasses RadioSelect: rendering it as radios made the
    # declaration impossible to complete in a browser.
    form = _Choices()
    assert govuk_kind(form["many"]) == "checkboxes"
    assert govuk_kind(form["one"]) == "radios"
