"""An upload handler that refuses an oversized file while it arrives (413), not after."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler

# Multipart framing and the small form fields around the file.
ENVELOPE_SLACK = 64 * 1024


class LimitedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts each file's bytes against MAX_UPLOAD_SIZE."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A declared body far above the limit is refused before a byte of it is read.
        if content_length and content_length > settings.MAX_UPLOAD_SIZE + ENVELOPE_SLACK:
            raise RequestDataTooBig(self._message())

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_SIZE:
            raise RequestDataTooBig(self._message())
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler keeps the file

    @staticmethod
    def _message() -> str:
        return f"A file may be at most {settings.MAX_UPLOAD_SIZE // (1024 * 1024)} MB."
