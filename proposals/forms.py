"""HTML forms for proposals: the title/status and an ordered, editable list of sections.

Rules live in proposals/services.py; these forms parse rows and skip the blank ones, so a
newcomer can leave the spare row empty.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.forms.models import fields_for_model

from cothon.forms import describe_errors
from opportunities.numbers import PROPOSAL_SECTIONS_MAX
from proposals.models import Proposal, ProposalSection, ProposalStatus


class ProposalForm(forms.Form):
    def __init__(self, *args: Any, with_status: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(Proposal, fields=("title", "status") if with_status else ("title",)))
        self.fields["title"].error_messages["required"] = "Give the proposal a title."
        self.fields["title"].widget.attrs["placeholder"] = "e.g. Technical proposal — cloud hosting"
        if with_status:
            self.fields["status"].choices = ProposalStatus.choices
            self.fields["status"].help_text = "Generating the PDF sets “Ready for Review”."
        describe_errors(self)


class SectionForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(ProposalSection, fields=("title", "body")))
        self.fields["title"].required = False  # a wholly blank row is skipped, see clean()
        self.fields["title"].label = "Section title"
        self.fields["body"].label = "Text"
        self.fields["body"].widget.attrs["rows"] = 5
        describe_errors(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("body") or "").strip() and not (data.get("title") or "").strip() and not data.get("DELETE"):
            self.add_error("title", "Give this section a title (or clear its text to drop it).")
        return data

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("title") or "").strip() and not (data.get("body") or "").strip()


class BaseSectionFormSet(forms.BaseFormSet):
    def sections(self) -> list[dict[str, str]]:
        """The kept rows, in page order, as the services take them."""
        return [
            {"title": form.cleaned_data["title"].strip(), "body": form.cleaned_data.get("body", "")}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and not form.is_blank
        ]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if len(self.sections()) > PROPOSAL_SECTIONS_MAX:
            raise ValidationError(f"A proposal can have at most {PROPOSAL_SECTIONS_MAX} sections.")


SectionFormSet = formset_factory(SectionForm, formset=BaseSectionFormSet, extra=1, can_delete=True,
                                 max_num=PROPOSAL_SECTIONS_MAX, absolute_max=PROPOSAL_SECTIONS_MAX + 10, validate_max=True)


def section_initial(proposal: Proposal) -> list[dict[str, str]]:
    return [{"title": s.title, "body": s.body} for s in proposal.sections.all()]
