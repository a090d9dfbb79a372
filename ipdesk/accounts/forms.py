from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .selectors import is_locked


class PasswordLoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong user name or password."),
        "locked": _("This account is locked after repeated failed sign-ins; try again later."),
    }

    def clean(self) -> dict[str, object]:
        try:
            return super().clean()
        except forms.ValidationError:
            if is_locked(self.cleaned_data.get("username", "")):
                raise forms.ValidationError(self.error_messages["locked"], code="locked") from None
            raise
