"""Audit log over the API: auditors and administrators only."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipdesk.accounts import policy
from ipdesk.core.rest import optional_int

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
        responses={200: AuditEventOut(many=True)},
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
            {
                "events": AuditEventOut(page, many=True).data,
                "next_after": page[-1].sequence if len(page) == PAGE else None,
            }
        )


class AuditVerifyView(APIView):
    permission_classes = [policy.role_permission(policy.AUDITORS)]

    @extend_schema(summary="Verify the whole audit chain", responses={200: dict})
    def get(self, request: Request) -> Response:
        report = verify_chain()
        return Response(
            {
                "ok": report.ok,
                "checked": report.checked,
                "head_sequence": report.head_sequence,
                "head_hash": report.head_hash,
                "broken_at": report.broken_at,
                "reason": report.reason,
            }
        )


urlpatterns = [
    path("audit/events", AuditEventsView.as_view(), name="audit-events"),
    path("audit/verify", AuditVerifyView.as_view(), name="audit-verify"),
]
