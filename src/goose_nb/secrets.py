"""Keeping secrets out of everything goose_nb shows, saves, logs or sends to a model.

One rule for the whole package, applied wherever text leaves goose_nb's hands (displays,
events, logs, errors, cassettes, and tool results before the model or the notebook sees
them). What counts as a secret:

- the configured API keys;
- what a configured URL carries: the password (or a lone token) of its userinfo, the
  Basic-auth value httpx builds from it, and query parameters named like keys;
- the values of environment variables whose names say they are secret (``*_KEY``,
  ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD*``), since a tool can print the environment;
- anything shaped like an API key (``sk-…``, ``key-…``, ``pk-…``) and the userinfo of any
  ``scheme://user:password@`` URL, since a server or a typo may echo one nobody configured.

Values shorter than ``MIN_SECRET_LENGTH`` are not scrubbed on their own (a variable set to
``1`` would otherwise blank every digit); URLs holding them are still masked.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "[redacted]"
#: the mask that replaces a URL's userinfo or a secret query value
MASK = "***"
MIN_SECRET_LENGTH = 6
KEY_SHAPED = re.compile(r"\b(sk|key|pk)-[A-Za-z0-9_\-*.]{6,}")
#: environment variable names whose values are secrets
SECRET_NAME = re.compile(r"(_KEY|_TOKEN|_SECRET)$|PASSWORD|PASSWD", re.IGNORECASE)
#: query parameter names whose values are secrets (``?api_key=…``, ``&token=…``)
_SECRET_PARAM = re.compile(r"key|token|secret|password|passwd|signature|sig$", re.IGNORECASE)
#: ``scheme://user:password@``, in any text: the userinfo is masked even when unknown
_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/@:]*:[^\s/@]*@")
_QUERY_SECRET = re.compile(
    r"([?&][^=&#\s]*(?:key|token|secret|password|passwd|signature|sig)=)[^&#\s]+",
    re.IGNORECASE)


def url_secrets(url: str) -> list[str]:
    """What a configured URL carries that must not be shown: its userinfo's password (or
    its lone user, a token), ``user:password`` and its Basic-auth base64, both as written
    and decoded, and the values of query parameters named like keys."""
    found: list[str] = []
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        user, password = parts.username, parts.password
        query = parse_qsl(parts.query)
    except ValueError:  # not a URL at all: the config check says so; the whole of it is kept
        return [url] if "@" in url else []
    if user is not None:
        pairs = {(user, password or ""), (unquote(user), unquote(password or ""))}
        for name, secret in pairs:
            found.extend([secret, f"{name}:{secret}"] if password else [name])
            found.append(base64.b64encode(f"{name}:{secret}".encode()).decode())
    found.extend(value for name, value in query if _SECRET_PARAM.search(name))
    return [value for value in found if len(value) >= MIN_SECRET_LENGTH]


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """The values of environment variables named like secrets."""
    return [value for name, value in environ.items()
            if SECRET_NAME.search(name) and len(value.strip()) >= MIN_SECRET_LENGTH]


def mask_url(url: str) -> str:
    """``https://user:pw@host/?key=v`` -> ``https://***@host/?key=***``: safe to show."""
    at = url.rfind("@", 0, _path_start(url))
    if at != -1:
        scheme_end = url.find("://")
        start = scheme_end + 3 if scheme_end != -1 else 0
        url = f"{url[:start]}{MASK}{url[at:]}"
    return _QUERY_SECRET.sub(rf"\g<1>{MASK}", url)


def _path_start(url: str) -> int:
    """Where the authority of ``url`` ends (a path, query or fragment begins)."""
    start = url.find("://")
    start = start + 3 if start != -1 else 0
    ends = [i for i in (url.find(c, start) for c in "/?#") if i != -1]
    return min(ends, default=len(url))


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret, every URL's userinfo and every key-shaped string
    replaced. Longer secrets go first, so one that contains another is replaced whole."""
    known = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len,
                   reverse=True)
    if known and any(secret in text for secret in known):
        text = re.sub("|".join(map(re.escape, known)), REDACTED, text)
    text = _USERINFO.sub(rf"\g<1>{MASK}@", text)
    text = _QUERY_SECRET.sub(rf"\g<1>{MASK}", text)
    return KEY_SHAPED.sub(REDACTED, text)
