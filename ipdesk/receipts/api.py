"""Receipts over the API: public verification (查验), reading, downloads, reversal (冲红)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipdesk.accounts import policy
from ipdesk.core.errors import InvalidInput, NotFound
from ipdesk.core.schema import FileAnswerNegotiation, MoneyField, error_responses

from . import documents, selectors, services
from .certificates import ABSENT, INVALID, VALID, document_certificates
from .codes import CODE_RE, MAX_UPLOAD_BYTES, NUMBER_RE, parse_verification_query
from .datafile import UnreadableDocument
from .formats import FORMATS
from .models import Receipt, ReceiptKind, ReversalReason
from .signing import keyring
from .throttles import VerifyThrottle


class ReceiptRefOut(serializers.Serializer):
    code = serializers.CharField(help_text="票据代码")
    number = serializers.CharField(help_text="票据号码, 10 digits")


class VerifiedItemOut(serializers.Serializer):
    name = serializers.CharField()
    amount = MoneyField()


class VerificationOut(serializers.Serializer):
    """The answer to 查验 by the receipt's numbers. What the receipt says is shown only when
    the asker gave every input (the numbers, 校验码, date and amount)."""

    status = serializers.ChoiceField(
        choices=[
            selectors.GENUINE,
            selectors.REVERSED,
            selectors.MISMATCH,
            selectors.NOT_FOUND,
        ]
    )
    code = serializers.CharField(required=False)
    number = serializers.CharField(required=False)
    kind = serializers.ChoiceField(choices=ReceiptKind.choices, required=False)
    issue_date = serializers.DateField(required=False)
    amount = MoneyField(required=False)
    payer = serializers.CharField(required=False)
    payee = serializers.CharField(required=False)
    items = VerifiedItemOut(many=True, required=False)
    reversed_by = ReceiptRefOut(required=False, help_text="the red receipt that reverses it")
    reverses = ReceiptRefOut(required=False, help_text="for a red receipt: the one it reverses")


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
        responses={200: VerificationOut},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        answer = selectors.verify_receipt(**parse_verification_query(request.query_params))
        return Response(VerificationOut(answer.as_dict()).data)


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
    kind = serializers.ChoiceField(choices=ReceiptKind.choices, required=False)
    issue_date = serializers.DateField(required=False)
    amount = MoneyField(required=False)
    payer = serializers.CharField(required=False)
    payee = serializers.CharField(required=False)
    items = VerifiedItemOut(many=True, required=False)
    reversed_by = ReceiptRefOut(required=False)
    reverses = ReceiptRefOut(required=False)


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


class ReceiptPayerOut(serializers.Serializer):
    name = serializers.CharField(help_text="the receipt's title (抬头)")
    type = serializers.ChoiceField(choices=[1, 2], help_text="1 individual, 2 unit")
    id_code = serializers.CharField()


class ReceiptItemDataOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.IntegerField(help_text="negative on a red receipt")
    standard = MoneyField()
    amount = MoneyField()
    remark = serializers.CharField(allow_blank=True)


class RelatedReceiptOut(ReceiptRefOut):
    reason = serializers.CharField(allow_blank=True)


class ReceiptDataOut(serializers.Serializer):
    """The receipt's canonical data, version 1: exactly what is signed."""

    version = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ReceiptKind.choices)
    code = serializers.CharField()
    number = serializers.CharField()
    check_code = serializers.CharField()
    issued_at = serializers.DateTimeField()
    issue_date = serializers.DateField()
    payer = ReceiptPayerOut()
    items = ReceiptItemDataOut(many=True)
    total = MoneyField()
    total_in_words = serializers.CharField(help_text="大写")
    payee = serializers.CharField()
    issuer = serializers.CharField(allow_blank=True)
    checker = serializers.CharField(allow_blank=True)
    remark = serializers.CharField(allow_blank=True)
    related = RelatedReceiptOut(allow_null=True)


@extend_schema_field(ReceiptDataOut)
class SignedDataField(serializers.Field):
    """The signed data as it was signed: parsed, never re-serialised field by field."""

    def to_representation(self, value: str) -> Any:
        return json.loads(value)


class SignatureOut(serializers.Serializer):
    algorithm = serializers.CharField()
    key_id = serializers.CharField(help_text="see /.well-known/ipdesk/keys.json")
    value = serializers.CharField(source="signature", help_text="base64")


class ReceiptOut(serializers.Serializer):
    code = serializers.CharField(source="series.code", help_text="票据代码")
    number = serializers.CharField(source="number_text", help_text="票据号码")
    check_code = serializers.CharField(help_text="校验码")
    kind = serializers.ChoiceField(choices=ReceiptKind.choices)
    issue_date = serializers.DateField()
    total = MoneyField()
    payment = serializers.IntegerField(source="payment_id")
    reversed_by = serializers.SerializerMethodField()
    data = SignedDataField()
    signature = SignatureOut(source="*")

    @extend_schema_field(ReceiptRefOut(allow_null=True))
    def get_reversed_by(self, receipt: Receipt) -> dict[str, str] | None:
        reversal = selectors.reversal_of(receipt)
        return ReceiptRefOut(reversal).data if reversal else None


class ReversalOut(serializers.Serializer):
    red = ReceiptOut(help_text="the red-letter receipt (冲红)")
    reissued = ReceiptOut(allow_null=True, help_text="the new receipt with the corrected title")


class ReceiptApi(APIView):
    @extend_schema(responses={200: ReceiptOut})
    def get(self, request: Request, code: str, number: str) -> Response:
        return Response(ReceiptOut(_readable(request, code, number)).data)


class ReceiptDocumentApi(APIView):
    fmt = "pdf"
    content_negotiation_class = FileAnswerNegotiation

    @property
    def file_content_type(self) -> str:
        """The file this view answers, for the schema (one view serves every format)."""
        return FORMATS[self.fmt].content_type.split(";")[0]

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

    @extend_schema(request=ReverseSerializer, responses={201: ReversalOut, **error_responses(409)})
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
            body = ReversalOut({"red": red, "reissued": reissued}).data
        else:
            red = services.reverse_receipt(
                original, reason=data["reason"], actor=request.user, note=data["note"]
            )
            body = ReversalOut({"red": red, "reissued": None}).data
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
