"""qa's logs: one JSON object a line on stderr, for qa's own records and uvicorn's."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

# Line breaks that json.dumps(ensure_ascii=False) leaves as they are: a line-based tool (journald,
# grep, a log shipper) would split one record at each, so a path or question holding one could
# forge a second record. Inside a JSON document they can only stand in strings, so escaping is safe.
_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}
_BREAKS_TABLE = str.maketrans(_BREAKS)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: access records carry their fields in ``record.fields``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                               + f".{int(record.msecs):03d}Z",
                               "level": record.levelname.lower(), "logger": record.name}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str).translate(_BREAKS_TABLE)


def configure_logging(level: str = "info") -> None:
    """Send qa's logs (and uvicorn's) to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("qa", "uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(level.upper())
        lg.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # RequestContext logs each request once
