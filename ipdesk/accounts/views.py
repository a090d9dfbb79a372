from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from ipdesk.core.clientaddress import client_address
from ipdesk.core.errors import DomainError

from . import services
from .forms import PasswordLoginForm


class PasswordLoginView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = PasswordLoginForm
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("portal:receipts")


@require_http_methods(["GET", "POST"])
def phone_login(request: HttpRequest) -> HttpResponse:
    """Sign in with a mobile number: enter the number, receive a code, enter the code."""
    context: dict[str, Any] = {
        "step": "phone",
        "phone": "",
        "errors": {},
        "next": request.POST.get("next") or request.GET.get("next") or "",
        "minutes": max(1, settings.IPDESK_LOGIN_CODE_SECONDS // 60),
    }
    status = 200
    if request.method == "POST":
        step = request.POST.get("step", "send")
        phone = request.POST.get("phone", "").strip()
        context["phone"] = phone
        try:
            if step == "login":
                context["step"] = "code"
                user = services.login_with_code(
                    phone, request.POST.get("code", ""), ip=client_address(request)
                )
                login(request, user, backend="ipdesk.accounts.backends.PhoneCodeBackend")
                return redirect(_next_url(request))
            row = services.request_login_code(phone, ip=client_address(request))
            context["step"] = "code"
            context["phone"] = row.phone
        except DomainError as exc:
            status = exc.status
            context["errors"] = {
                name: [str(m) for m in messages] for name, messages in exc.fields.items()
            }
            if not exc.fields:
                context["general"] = [str(exc.message)]
    return render(request, "accounts/phone.html", context, status=status)
