"""Who am I, the organisations a user may see, sign-in by phone, and the audit log.

The audit log's endpoints live here rather than in ``audit``: who may read it is decided by
the access policy of ``accounts``, which sits above ``audit``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipdesk.audit.checkpoints import verify_against_checkpoints
from ipdesk.audit.models import AuditEvent
from ipdesk.core.clientaddress import client_address
from ipdesk.core.rest import optional_int
from ipdesk.core.schema import error_responses

from . import policy, services
from .models import Organisation


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
    permission_classes = [policy.role_permission(policy.STAFF)]

    @extend_schema(
        summary="Organisations visible to the user", responses={200: OrganisationOut(many=True)}
    )
    def get(self, request: Request) -> Response:
        return Response(OrganisationOut(policy.visible_organisations(request.user), many=True).data)


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
        services.request_login_code(data.validated_data["phone"], ip=client_address(request))
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
            data.validated_data["phone"], data.validated_data["code"], ip=client_address(request)
        )
        _token, plaintext = services.issue_api_token(user, name="phone sign-in")
        return Response({"token": plaintext, "username": user.username, "role": user.role})


# --- the audit log (auditors and administrators only) --------------------------------------

AUDIT_PAGE = 200


class AuditEventOut(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "sequence",
            "occurred_at",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "payload",
            "prev_hash",
            "hash",
        ]


class AuditEventsPage(serializers.Serializer):
    events = AuditEventOut(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text="pass as `after` for the next page; null on the last page"
    )


class ChainReportOut(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField(help_text="events checked")
    head_sequence = serializers.IntegerField()
    head_hash = serializers.CharField()
    broken_at = serializers.IntegerField(
        allow_null=True, help_text="sequence of the first event that breaks the chain"
    )
    reason = serializers.CharField(allow_blank=True)
    checkpoints = serializers.IntegerField(
        help_text="signed checkpoints the chain was compared with"
    )
    newest_checkpoint = serializers.IntegerField(
        allow_null=True, help_text="sequence of the newest checkpoint compared"
    )


class AuditEventsView(APIView):
    permission_classes = [policy.role_permission(policy.AUDITORS)]

    @extend_schema(
        summary="Audit events, oldest first",
        parameters=[
            OpenApiParameter("after", int, description="return events after this sequence"),
            OpenApiParameter("object_type", str),
            OpenApiParameter("object_id", str),
            OpenApiParameter("action", str),
        ],
        responses={200: AuditEventsPage},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        after = optional_int(params, "after", low=0, high=2**62)
        events = AuditEvent.objects.filter(sequence__gt=after)
        for name in ("object_type", "object_id", "action"):
            if params.get(name):
                events = events.filter(**{name: params[name]})
        page = list(events.order_by("sequence")[:AUDIT_PAGE])
        return Response(
            AuditEventsPage(
                {
                    "events": page,
                    "next_after": page[-1].sequence if len(page) == AUDIT_PAGE else None,
                }
            ).data
        )


class AuditVerifyView(APIView):
    permission_classes = [policy.role_permission(policy.AUDITORS)]

    @extend_schema(summary="Verify the whole audit chain", responses={200: ChainReportOut})
    def get(self, request: Request) -> Response:
        return Response(ChainReportOut(verify_against_checkpoints()).data)


urlpatterns = [
    path("auth/phone/code", PhoneCodeView.as_view(), name="auth-phone-code"),
    path("auth/phone/login", PhoneLoginView.as_view(), name="auth-phone-login"),
    path("me", MeView.as_view(), name="me"),
    path("organisations", OrganisationsView.as_view(), name="organisations"),
    path("audit/events", AuditEventsView.as_view(), name="audit-events"),
    path("audit/verify", AuditVerifyView.as_view(), name="audit-verify"),
]
