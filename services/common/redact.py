"""The one scrubber every written line goes through: log records with their tracebacks, the JSON format's
fields, and the children's captured stdout and stderr. Log files end up in diagnostics archives, so a
secret that reaches one has left the station.

What it removes:
- the password of a URL (`scheme://user:password@host`), whatever the password holds: `@`, `:`, blanks. The
  user and host stay (they say which account and server were used). A `/` or a line break ends the part that
  can be a password: a URL parser reads an unencoded `/` as the start of the path, so it cannot be in one;
- the value of a secret-named field (`password`, `token`, `authorization_key`, ...) as `name=value`,
  `"name": "value"` or `name='value'`;
- the value of a protocol configuration key with a secret name (`{"key": "<name>Key", "value": ...}` with a
  name as above, in frames and in the library's reprs), whatever the order of the fields;
- the credentials of an HTTP `Authorization:` header;
- the middle of a token (`id_token=...`, a card's id: personal data) unless the log level is DEBUG.
"""

from __future__ import annotations

import re

MASK = "***"

# a colon ends the token only when a blank or the end follows it: "id_token=%s: %s" stays readable
_ID_TOKEN = re.compile(r"\b((?:group_)?id_token)=([^\s,;)]+?)(?=:?(?:[\s,;)]|$))")
# the password runs to the last `@` before the path: greedy, so an `@` or a blank inside it is covered
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*):[^/\r\n]*@")
_SECRET_NAME = r"(?:password|passwd|pwd|secret|token|api_token|authorization_?key|auth_?key)"
_QUOTED = r"\"(?:[^\"\\\r\n]|\\.)*\"|'(?:[^'\\\r\n]|\\.)*'"
_SECRET_FIELD = re.compile(
    rf"(?i)(\b{_SECRET_NAME}\b[\"']?\s*[:=]\s*)({_QUOTED}|[^\s,;)}}\]]+)")
# one flat object or argument list that names a secret configuration key, or the rest of a line that names one
# in key=value words: its `value` goes
_SECRET_KEY = rf"\bkey[\"']?\s*[:=]\s*[\"']?\w*{_SECRET_NAME}\b"
_SECRET_KEY_GROUP = re.compile(rf"(?i)[{{(][^{{}}()]*{_SECRET_KEY}[^{{}}()]*[}})]|{_SECRET_KEY}[^{{}}()\r\n]*")
_VALUE_FIELD = re.compile(rf"(?i)(\bvalue[\"']?\s*[:=]\s*)({_QUOTED}|[^\s,;)}}\]]+)")
_AUTH_HEADER = re.compile(r"(?i)(\bAuthorization[\"']?\s*[:=]\s*[\"']?(?:Basic|Bearer|Digest)\s+)[^\s\"',;]+")


_SECRET_NAMED = re.compile(rf"(?i)^\w*{_SECRET_NAME}$")


def is_secret_name(name: str) -> bool:
    """A configuration key or field whose name says it holds a secret (an authorization key, a password)."""
    return _SECRET_NAMED.match(name) is not None


def mask_token(tag: str) -> str:
    """A token is personal data: enough of it to tell two cards apart in a log, not to copy one."""
    if len(tag) >= 6:
        return f"{tag[:2]}**{tag[-2:]}"
    return f"{tag[:1]}**" if tag else tag


def redact_url(url: str) -> str:
    """The URL without a password in it (the user stays: it says which account was used)."""
    return _URL_PASSWORD.sub(rf"\1:{MASK}@", url)


def _masked_value(match: re.Match[str]) -> str:
    value = match.group(2)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group(1)}{quote}{MASK}{quote}"


def scrub(text: str, mask_tags: bool = True) -> str:
    """A line fit to write or show: no secret in it, and `id_token=…` masked unless `mask_tags` is false."""
    cleaned = redact_url(text)
    cleaned = _SECRET_KEY_GROUP.sub(lambda m: _VALUE_FIELD.sub(_masked_value, m.group(0)), cleaned)
    cleaned = _SECRET_FIELD.sub(_masked_value, cleaned)
    cleaned = _AUTH_HEADER.sub(rf"\1{MASK}", cleaned)
    if mask_tags:
        cleaned = _ID_TOKEN.sub(lambda m: f"{m.group(1)}={mask_token(m.group(2))}", cleaned)
    return cleaned
