"""Receipts over the API: public verification (查验), reading, downloads, reversal (冲红)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipdesk.accounts import policy
from ipdesk.core.errors import InvalidInput, NotFound
from ipdesk.core.money import money_str

from . import documents, selectors, services
from .certificates import ABSENT, INVALID, VALID, document_certificates
from .codes import CODE_RE, MAX_UPLOAD_BYTES, NUMBER_RE, parse_verification_query
from .datafile import UnreadableDocument
from .formats import FORMATS
from .models import Receipt, ReversalReason
from .signing import keyring
from .throttles import VerifyThrottle


class VerifyApi(APIView):
    """Public verification by the receipt's numbers; rate-limited per client address."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [VerifyThrottle]
    throttle_scope = "verify"

    @extend_schema(
        parameters=[
            OpenApiParameter("code", str, required=True, description="票据代码, 8 digits"),
            OpenApiParameter("number", str, required=True, description="票据号码, 10 digits"),
            OpenApiParameter("check_code", str, required=True, description="校验码"),
            OpenApiParameter("date", str, description="开票日期 YYYY-MM-DD"),
            OpenApiParameter("amount", str, description="金额, e.g. 900.00"),
        ],
        responses={200: dict},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        answer = selectors.verify_receipt(**parse_verification_query(request.query_params))
        return Response(answer.as_dict())


class ReceiptReferenceSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="票据代码")
    number = serializers.CharField(help_text="票据号码")


class VerifiedItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    amount = serializers.CharField()


class DocumentSignatureSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[VALID, INVALID, ABSENT],
        help_text="absent: a PDF or OFD made before documents were signed",
    )
    reason = serializers.CharField(help_text="why it is invalid (English); empty otherwise")
    signer = serializers.CharField(help_text="the signing certificate's subject")
    certificate = serializers.CharField(
        help_text="id of the issuing unit's certificate that signed (see keys.json)"
    )
    signed_at = serializers.DateTimeField(allow_null=True, help_text="as the signature says")


class FileVerificationSerializer(serializers.Serializer):
    """The answer to a file verification: each signature, which part failed, and — when the
    file and the record agree — what the receipt says."""

    status = serializers.ChoiceField(
        choices=[selectors.GENUINE, selectors.REVERSED, selectors.MISMATCH, selectors.NOT_FOUND]
    )
    format = serializers.ChoiceField(choices=list(FORMATS))
    signature = serializers.ChoiceField(
        choices=[VALID, INVALID], help_text="the signature over the receipt's canonical data"
    )
    document_signature = DocumentSignatureSerializer(
        allow_null=True, help_text="the PDF's or OFD's own signature; null for an XML file"
    )
    failed = serializers.ChoiceField(
        choices=list(selectors.FAILED_PARTS),
        allow_null=True,
        help_text="the first part that did not hold; null when everything did",
    )
    code = serializers.CharField(required=False)
    number = serializers.CharField(required=False)
    kind = serializers.ChoiceField(choices=["blue", "red"], required=False)
    issue_date = serializers.DateField(required=False)
    amount = serializers.CharField(required=False)
    payer = serializers.CharField(required=False)
    payee = serializers.CharField(required=False)
    items = VerifiedItemSerializer(many=True, required=False)
    reversed_by = ReceiptReferenceSerializer(required=False)
    reverses = ReceiptReferenceSerializer(required=False)


class VerifyFileApi(APIView):
    """Public verification of a receipt file (XML data file, PDF or OFD): the signature over
    its data, the PDF's or OFD's own signature, then the record."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [VerifyThrottle]
    throttle_scope = "verify"
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={200: FileVerificationSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput(fields={"file": _("Attach the receipt file (XML, PDF or OFD).")})
        if upload.size is None or upload.size > MAX_UPLOAD_BYTES:
            raise InvalidInput(fields={"file": _("The file is larger than 2 MB.")})
        try:
            answer = selectors.verify_document(upload.read())
        except UnreadableDocument as exc:
            raise InvalidInput(
                fields={
                    "file": _("This is not a receipt file ipdesk can read: %(why)s")
                    % {"why": str(exc).removeprefix("file: ")}
                }
            ) from exc
        return Response(FileVerificationSerializer(answer.as_dict()).data)


def _readable(request: Request, code: str, number: str) -> Receipt:
    receipt = None
    if CODE_RE.match(code) and NUMBER_RE.match(number):
        receipt = (
            selectors.readable_receipts(request.user)
            .filter(series__code=code, number=int(number))
            .first()
        )
    if receipt is None:
        if (
            CODE_RE.match(code)
            and NUMBER_RE.match(number)
            and selectors.find_receipt(code, int(number))
        ):
            # Someone else's receipt: answer as if it did not exist, and log the attempt.
            policy.record_access_denied(
                request.user, path=request.path, method=request.method or "", required="owner"
            )
        raise NotFound(_("No such receipt, or it is not yours to read."))
    return receipt


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    reversal = selectors.reversal_of(receipt)
    return {
        "code": receipt.series.code,
        "number": receipt.number_text,
        "check_code": receipt.check_code,
        "kind": receipt.kind,
        "issue_date": receipt.issue_date.isoformat(),
        "total": money_str(receipt.total),
        "payment": receipt.payment_id,
        "reversed_by": (
            {"code": reversal.series.code, "number": reversal.number_text} if reversal else None
        ),
        "data": json.loads(receipt.data),
        "signature": {
            "algorithm": receipt.algorithm,
            "key_id": receipt.key_id,
            "value": receipt.signature,
        },
    }


class ReceiptApi(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, code: str, number: str) -> Response:
        return Response(receipt_json(_readable(request, code, number)))


class ReceiptDocumentApi(APIView):
    fmt = "pdf"

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, code: str, number: str) -> HttpResponse:
        return documents.download(_readable(request, code, number), self.fmt)


class ReverseSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ReversalReason.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=200, required=False, allow_blank=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["reason"] == ReversalReason.WRONG_TITLE and not attrs.get("title"):
            raise serializers.ValidationError(
                {"title": _("A payer-title correction needs the corrected title.")}
            )
        return attrs


class ReverseApi(APIView):
    """Red-letter reversal; with reason ``wrong_title`` and a ``title``, also the reissue."""

    @extend_schema(request=ReverseSerializer, responses={201: dict})
    def post(self, request: Request, code: str, number: str) -> Response:
        original = _readable(request, code, number)
        form = ReverseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if data["reason"] == ReversalReason.WRONG_TITLE:
            reissued = services.correct_payer_title(
                original, title=data["title"], actor=request.user, note=data["note"]
            )
            red = selectors.reversal_of(original)
            assert red is not None
            body = {"red": receipt_json(red), "reissued": receipt_json(reissued)}
        else:
            red = services.reverse_receipt(
                original, reason=data["reason"], actor=request.user, note=data["note"]
            )
            body = {"red": receipt_json(red), "reissued": None}
        return Response(body, status=201)


@cache_control(public=True, max_age=300)
def public_keys(request: Any) -> JsonResponse:
    """/.well-known/ipdesk/keys.json: every public key receipts may be signed with, and every
    certificate that signs their PDFs and OFDs (``certificates``, chains in ``x5c``)."""
    document = {
        **keyring().keys_document(),
        "certificates": document_certificates().published(),
    }
    return JsonResponse(document, json_dumps_params={"ensure_ascii": False})


@cache_control(public=True, max_age=300)
def public_certificates(request: Any) -> HttpResponse:
    """/.well-known/ipdesk/certificates.pem: the same certificate chains, PEM, to import
    into a PDF reader's or an OFD reader's trusted certificates."""
    return HttpResponse(document_certificates().pem(), content_type="application/x-pem-file")


urlpatterns = [
    path("verify", VerifyApi.as_view(), name="receipt-verify"),
    path("verify/file", VerifyFileApi.as_view(), name="receipt-verify-file"),
    path("receipts/<str:code>/<str:number>", ReceiptApi.as_view(), name="receipt-detail"),
    *[
        path(
            f"receipts/<str:code>/<str:number>/{fmt}",
            ReceiptDocumentApi.as_view(fmt=fmt),
            name=f"receipt-{fmt}",
        )
        for fmt in FORMATS
    ],
    path("receipts/<str:code>/<str:number>/reverse", ReverseApi.as_view(), name="receipt-reverse"),
]
