"""HTTP views of attachments (API.md §10): the upload, and the file behind a signed URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attachments import selectors, services
from attachments.models import Attachment
from attachments.signing import signed_url
from attachments.sniff import INLINE_TYPES
from attachments.uploads import FILE_FIELD, AttachmentUploadHandler
from chatproject.envelope import json_error, ok
from chatproject.exceptions import ApplicationError, InvalidInput, TooLarge, UnsupportedMediaType
from chatproject.offloop import off_loop

CHUNK_BYTES = 64 * 1024
# The file's own response: nothing in it may run or load anything, whatever it turns out to be.
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def attachment_data(attachment: Attachment, *, base: str) -> dict[str, object]:
    data: dict[str, object] = {
        "url": signed_url(attachment.key, base=base),
        "file_name": attachment.file_name,
        "size": attachment.size,
        "content_type": attachment.content_type,
    }
    if attachment.width is not None:
        data["width"] = attachment.width
        data["height"] = attachment.height
    return data


class UploadView(APIView):
    parser_classes = [MultiPartParser]  # for the schema: the view parses the body itself, streaming

    @extend_schema(
        operation_id="upload",
        summary="Upload a file (an image, a PDF, ...)",
        description=(
            "`multipart/form-data` with one part `file`, at most `UPLOAD_MAX_BYTES` (25 MiB by default; over it "
            "413, refused as soon as the size is known). Stored under a name the client cannot choose. The "
            "content type is sniffed from the bytes (HTML, SVG, XML, JavaScript, executables and anything "
            "unknown become `application/octet-stream`); images get `width` and `height` read from the file. "
            "`url` is signed and expires after `UPLOAD_URL_SECONDS`; put it in the `url` of an `image`, "
            "`voice` or `file` message."
        ),
        tags=["send"],
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
                "required": [FILE_FIELD],
            }
        },
        responses={
            200: inline_serializer(
                "UploadData",
                {
                    "url": serializers.URLField(help_text="signed, expiring; fetch it without a header"),
                    "file_name": serializers.CharField(),
                    "size": serializers.IntegerField(help_text="bytes"),
                    "content_type": serializers.CharField(help_text="sniffed from the bytes"),
                    "width": serializers.IntegerField(required=False, help_text="images only"),
                    "height": serializers.IntegerField(required=False, help_text="images only"),
                },
            ),
            400: OpenApiResponse(description="no part `file`, more than one file, or a malformed body"),
            413: OpenApiResponse(description="the file is larger than UPLOAD_MAX_BYTES"),
            415: OpenApiResponse(description="the body is not multipart/form-data"),
        },
    )
    def post(self, request: Request) -> Response:
        django_request: HttpRequest = request._request
        if not django_request.content_type.startswith("multipart/form-data"):
            raise UnsupportedMediaType("the body must be multipart/form-data with one part 'file'")
        limit = settings.UPLOAD_MAX_BYTES
        handler = AttachmentUploadHandler(django_request, limit=limit)
        django_request.upload_handlers = [handler]
        try:
            upload = django_request.FILES.get(FILE_FIELD)
        except MultiPartParserError:
            raise InvalidInput("the body is not valid multipart/form-data") from None
        if handler.too_large:
            raise TooLarge(f"the file is larger than {limit} bytes")
        if handler.refusal:
            raise InvalidInput(handler.refusal, errors={FILE_FIELD: [handler.refusal]})
        if upload is None:
            reason = "is required: send the file as the part 'file' of a multipart/form-data body"
            raise InvalidInput(f"{FILE_FIELD} {reason}", errors={FILE_FIELD: [reason]})
        try:
            attachment = services.attachment_store(uploader=request.user, file=upload, file_name=upload.name or "")
        finally:
            upload.close()
        base = django_request.build_absolute_uri("/")
        return ok(attachment_data(attachment, base=base), "uploaded")


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    """The file in chunks, each read off the event loop; under ASGI a synchronous iterator
    would be read whole into memory first."""
    read = off_loop(file.read)
    try:
        while chunk := await read(CHUNK_BYTES):
            yield chunk
    finally:
        await off_loop(file.close)()


def _content_disposition(attachment: Attachment) -> str:
    kind = "inline" if attachment.content_type in INLINE_TYPES else "attachment"
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in attachment.file_name
    )
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.file_name, safe='')}"


@csrf_exempt
def file_view(request: HttpRequest, token: str) -> HttpResponse:
    """The file behind a signed URL (no authentication: the signature is the key), streamed
    from storage with its stored content type, `nosniff`, a policy that lets nothing in it
    run, and `Content-Disposition: attachment` unless it is an image shown inline."""
    if request.method not in ("GET", "HEAD"):
        response = json_error(405, f"method {request.method} is not allowed on a file; read it with GET")
        response["Allow"] = "GET, HEAD"
        return response
    try:
        attachment = selectors.attachment_for_token(token=token)
        file = None if request.method == "HEAD" else default_storage.open(attachment.storage_name, "rb")
    except ApplicationError as error:
        return json_error(error.status, error.msg)
    except FileNotFoundError:
        return json_error(404, "this file no longer exists")
    response: HttpResponse
    if file is None:
        response = HttpResponse(content_type=attachment.content_type)
    else:
        response = StreamingHttpResponse(_chunks(file), content_type=attachment.content_type)
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = _content_disposition(attachment)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    response["Referrer-Policy"] = "no-referrer"
    # The URL is a capability: shared caches must not keep it; the browser may, while it is valid.
    patch_cache_control(response, private=True, max_age=min(settings.UPLOAD_URL_SECONDS, 24 * 3600))
    return response
