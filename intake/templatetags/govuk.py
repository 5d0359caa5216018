"""Small helpers for rendering Django form fields as GOV.UK Design System components."""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from intake.forms import DateInputWidget

register = template.Library()

_PASSED_ATTRS = ("autocomplete", "spellcheck", "inputmode")


@register.filter
def govuk_kind(bound: forms.BoundField) -> str:
    widget = bound.field.widget
    if isinstance(widget, DateInputWidget):
        return "date"
    # CheckboxSelectMultiple subclasses RadioSelect, so it must be tested first.
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "charcount" if widget.attrs.get("data-maxlength") else "textarea"
    return "input"


@register.filter
def input_type(bound: forms.BoundField) -> str:
    widget = bound.field.widget
    return str(widget.attrs.get("type") or getattr(widget, "input_type", "text"))


@register.filter
def input_attrs(bound: forms.BoundField) -> SafeString:
    """autocomplete, spellcheck and inputmode from the widget, escaped."""
    attrs = bound.field.widget.attrs
    return format_html_join("", ' {}="{}"', ((name, attrs[name]) for name in _PASSED_ATTRS if name in attrs))


@register.filter
def width_class(bound: forms.BoundField) -> str:
    return str(bound.field.widget.attrs.get("class", ""))


@register.filter
def maxlength(bound: forms.BoundField) -> str:
    return str(bound.field.widget.attrs.get("data-maxlength", ""))


@register.filter
def rows(bound: forms.BoundField) -> str:
    return str(bound.field.widget.attrs.get("rows", 5))


@register.filter
def date_parts(bound: forms.BoundField) -> list[dict[str, Any]]:
    value = bound.value()
    if not isinstance(value, list | tuple):
        widget = bound.field.widget
        value = widget.decompress(value) if isinstance(widget, DateInputWidget) else ["", "", ""]
    values = [("" if v is None else str(v)) for v in [*value, "", "", ""][:3]]
    labels = [("Day", "govuk-input--width-2"), ("Month", "govuk-input--width-2"), ("Year", "govuk-input--width-4")]
    return [
        {"name": f"{bound.html_name}_{i}", "id": f"{bound.auto_id}_{i}", "label": label, "width": width, "value": v}
        for i, ((label, width), v) in enumerate(zip(labels, values, strict=True))
    ]


@register.filter
def conditional_fields(bound: forms.BoundField, choice: Any) -> list[forms.BoundField]:
    """Fields revealed under one radio option (see StepForm.conditionals)."""
    conditionals = getattr(bound.form, "conditionals", {})
    names = conditionals.get(bound.name, {}).get(str(choice), [])
    return [bound.form[name] for name in names]


@register.filter
def is_revealed(bound: forms.BoundField) -> bool:
    revealed = getattr(bound.form, "revealed_fields", None)
    return bool(revealed and bound.name in revealed())


@register.filter
def is_chosen(value: Any, current: Any) -> bool:
    """True when an option's value is the field's current value (strings compared)."""
    if isinstance(current, list | tuple):
        return str(value) in {str(v) for v in current}
    return current is not None and str(value) == str(current)


@register.simple_tag
def describedby(bound: forms.BoundField, show_errors: bool, *extra: str) -> str:
    ids = [f"{bound.auto_id}-{suffix}" for suffix in extra]
    if bound.help_text:
        ids.insert(0, f"{bound.auto_id}-hint")
    if show_errors and bound.errors:
        ids.append(f"{bound.auto_id}-error")
    return " ".join(ids)
