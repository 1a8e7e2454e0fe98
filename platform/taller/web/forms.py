from __future__ import annotations

from django.http import QueryDict

FILE_FIELD_PREFIX = "file:"


def files_from_post(data: QueryDict) -> dict[str, str]:
    """The editor posts one field per file, named `file:<path>`."""
    # Browsers send textareas with CRLF line ends; the code is stored as written.
    return {
        key[len(FILE_FIELD_PREFIX) :]: str(data.get(key, "")).replace("\r\n", "\n")
        for key in data
        if key.startswith(FILE_FIELD_PREFIX)
    }
