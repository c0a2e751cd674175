"""Container image references as the kubelet parses them and containerd names them.

Implements the reference grammar of the Docker distribution library (``name[:tag][@digest]``), its
normalisation of familiar names (``nginx`` is ``docker.io/library/nginx``) and the error texts the
kubelet puts into ``InvalidImageName`` waiting messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
MAX_NAME = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_REMOTE = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE_RE = re.compile(rf"^((?:{_DOMAIN}/)?{_REMOTE})(?::({_TAG}))?(?:@({_DIGEST}))?$")
NAME_RE = re.compile(rf"^(?:({_DOMAIN})/)?({_REMOTE})$")
IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
DIGEST_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128}


class InvalidReference(ValueError):
    """An image reference that does not parse; ``str()`` is the library's error text."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed, normalised reference."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        """``docker.io/library/nginx``."""
        return f"{self.domain}/{self.path}"

    def runtime_name(self) -> str:
        """The name containerd reports: digest wins over tag, ``latest`` when neither is given."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag or 'latest'}"


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep:
        return DEFAULT_DOMAIN, OFFICIAL_PREFIX + name
    if first == "localhost" or any(c in first for c in ".:") or first.lower() != first:
        domain, remote = first, rest
    elif first == LEGACY_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, rest
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_PREFIX + remote
    return domain, remote


def _check_digest(digest: str) -> None:
    algorithm, _, encoded = digest.partition(":")
    if algorithm not in DIGEST_SIZES:
        raise InvalidReference("unsupported digest algorithm")
    if len(encoded) != DIGEST_SIZES[algorithm]:
        raise InvalidReference("invalid checksum digest length")
    if not re.fullmatch(r"[a-f0-9]+", encoded):
        raise InvalidReference("invalid checksum digest format")


def _parse_canonical(text: str) -> ImageRef:
    if not text:
        raise InvalidReference("repository name must have at least one component")
    match = REFERENCE_RE.match(text)
    if match is None:
        if text.lower() != text and REFERENCE_RE.match(text.lower()):
            raise InvalidReference("repository name must be lowercase")
        raise InvalidReference("invalid reference format")
    name, tag, digest = match.group(1), match.group(2) or "", match.group(3) or ""
    name_match = NAME_RE.match(name)
    domain, path = (name_match.group(1) or "", name_match.group(2)) if name_match else ("", name)
    if len(path) > MAX_NAME:
        raise InvalidReference(f"repository name must not be more than {MAX_NAME} characters")
    if digest:
        _check_digest(digest)
    return ImageRef(domain, path, tag, digest)


def parse(image: str) -> ImageRef:
    """Parse a familiar or fully qualified reference; raises :class:`InvalidReference`."""
    if IDENTIFIER_RE.match(image):
        raise InvalidReference(f"invalid repository name ({image}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_domain(image)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidReference(f"invalid reference format: repository name ({remote}) must be lowercase")
    return _parse_canonical(f"{domain}/{remainder}")


def go_quote(text: str) -> str:
    """``%q`` formatting of a string (printable ASCII is kept, quotes and backslashes escaped)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) > 0xFF else f"\\x{ord(ch):02x}")
    return '"' + "".join(out) + '"'


def invalid_name_message(image: str) -> str | None:
    """The kubelet's ``InvalidImageName`` message, or None for a reference that parses."""
    try:
        parse(image)
    except InvalidReference as exc:
        return (
            f"Failed to apply default image tag {go_quote(image)}: couldn't parse image name {go_quote(image)}: {exc}"
        )
    return None


def tag_of(image: str) -> str:
    """The tag the kubelet sees (``latest`` without tag and digest), or "" when the reference is invalid."""
    try:
        ref = parse(image)
    except InvalidReference:
        return ""
    return ref.tag or ("" if ref.digest else "latest")
