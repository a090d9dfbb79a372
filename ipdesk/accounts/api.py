"""Who am I, and the organisations a user may see."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipdesk.core.schema import error_responses

from . import services
from .backends import client_ip
from .models import Organisation, Role
from .permissions import role_permission
from .selectors import organisations_visible_to


class OrganisationOut(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = [
            "code",
            "kind",
            "name",
            "name_en",
            "credit_code",
            "bank_name",
            "bank_account",
            "is_active",
        ]


class MeOut(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(source="first_name")
    role = serializers.CharField()
    organisation = OrganisationOut(allow_null=True)


class MeView(APIView):
    @extend_schema(summary="The signed-in user", responses={200: MeOut})
    def get(self, request: Request) -> Response:
        return Response(MeOut(request.user).data)


class OrganisationsView(APIView):
    permission_classes = [
        role_permission(Role.COLLECTOR, Role.REVIEWER, Role.FEE_CLERK, Role.AUDITOR, Role.ADMIN)
    ]

    @extend_schema(
        summary="Organisations visible to the user", responses={200: OrganisationOut(many=True)}
    )
    def get(self, request: Request) -> Response:
        return Response(OrganisationOut(organisations_visible_to(request.user), many=True).data)


class PhoneIn(serializers.Serializer):
    phone = serializers.CharField(max_length=20)


class PhoneCodeIn(serializers.Serializer):
    phone = serializers.CharField(max_length=20)
    code = serializers.CharField(max_length=12)


class CodeSentOut(serializers.Serializer):
    sent = serializers.BooleanField()
    expires_in = serializers.IntegerField(help_text="seconds")


class TokenOut(serializers.Serializer):
    token = serializers.CharField(help_text="Bearer token; shown once")
    username = serializers.CharField()
    role = serializers.CharField()


class PhoneCodeView(APIView):
    """Text a one-time sign-in code to a payer's mobile number (rate-limited)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Send a sign-in code by SMS",
        request=PhoneIn,
        responses={202: CodeSentOut, **error_responses(403, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = PhoneIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_login_code(data.validated_data["phone"], ip=client_ip(request))
        return Response(
            {"sent": True, "expires_in": settings.IPDESK_LOGIN_CODE_SECONDS}, status=202
        )


class PhoneLoginView(APIView):
    """Exchange a mobile number and its one-time code for an API token."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Sign in with a mobile number and code",
        request=PhoneCodeIn,
        responses={200: TokenOut, **error_responses(403)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = PhoneCodeIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.login_with_code(
            data.validated_data["phone"], data.validated_data["code"], ip=client_ip(request)
        )
        _token, plaintext = services.issue_api_token(user, name="phone sign-in")
        return Response({"token": plaintext, "username": user.username, "role": user.role})


urlpatterns = [
    path("auth/phone/code", PhoneCodeView.as_view(), name="auth-phone-code"),
    path("auth/phone/login", PhoneLoginView.as_view(), name="auth-phone-login"),
    path("me", MeView.as_view(), name="me"),
    path("organisations", OrganisationsView.as_view(), name="organisations"),
]
