"""Receiving an upload: a Django upload handler that writes the one part `file` to a
temporary file as it is parsed, chunk by chunk, counting its bytes.

Past `UPLOAD_MAX_BYTES` it stops the upload at once (nothing more is written, the temporary
file is deleted) and the view answers 413; the file is never held in memory. The body itself
reaches Django already limited (`STREAMING_BODY_PATHS`, `chatproject.http_limits`): a
`Content-Length` over the limit, or a chunked body growing past it, is refused before the
view runs.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

FILE_FIELD = "file"


class AttachmentUploadHandler(FileUploadHandler):
    """Takes the part named `file` (one) into a `TemporaryUploadedFile`; refuses more parts.

    After parsing, `too_large` tells that the file passed `limit` bytes and `refusal` names
    any other reason the upload stopped; either way nothing is kept.
    """

    def __init__(self, request: HttpRequest, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_large = False
        self.refusal: str | None = None
        self.upload: TemporaryUploadedFile | None = None

    def new_file(self, field_name: str, file_name: str, content_type: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, content_type, *args, **kwargs)
        if field_name != FILE_FIELD or self.upload is not None:
            self.refusal = f"send one file, as the part {FILE_FIELD!r}, and no other file"
            self._discard()
            raise StopUpload(connection_reset=True)
        if self.content_length is not None and self.content_length > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=True)
        self.upload = TemporaryUploadedFile(file_name, content_type, 0, self.charset, self.content_type_extra)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            self._discard()
            raise StopUpload(connection_reset=True)
        assert self.upload is not None
        self.upload.write(raw_data)

    def file_complete(self, file_size: int) -> TemporaryUploadedFile | None:
        if self.upload is None:
            return None
        self.upload.seek(0)
        self.upload.size = file_size
        return self.upload

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        if self.upload is not None:
            self.upload.close()  # deletes the temporary file
            self.upload = None
