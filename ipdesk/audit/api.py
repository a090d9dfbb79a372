"""Audit log over the API: auditors and administrators only."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipdesk.accounts.models import Role
from ipdesk.accounts.permissions import role_permission
from ipdesk.core.api import optional_int

from .models import AuditEvent
from .selectors import verify_chain

PAGE = 200


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


class AuditEventsView(APIView):
    permission_classes = [role_permission(Role.AUDITOR, Role.ADMIN)]

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
        page = list(events.order_by("sequence")[:PAGE])
        return Response(
            AuditEventsPage(
                {"events": page, "next_after": page[-1].sequence if len(page) == PAGE else None}
            ).data
        )


class AuditVerifyView(APIView):
    permission_classes = [role_permission(Role.AUDITOR, Role.ADMIN)]

    @extend_schema(summary="Verify the whole audit chain", responses={200: ChainReportOut})
    def get(self, request: Request) -> Response:
        return Response(ChainReportOut(verify_chain()).data)


urlpatterns = [
    path("audit/events", AuditEventsView.as_view(), name="audit-events"),
    path("audit/verify", AuditVerifyView.as_view(), name="audit-verify"),
]
