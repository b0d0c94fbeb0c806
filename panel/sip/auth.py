"""Digest authentication (RFC 3261 section 22, RFC 7616): the answer to a 401 or 407."""

from __future__ import annotations

import hashlib
import re
import secrets

from sipmessage import AuthChallenge, AuthCredentials, AuthParameters

_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class AuthError(Exception):
    """A challenge the panel cannot answer (an unknown scheme or algorithm)."""


# name=token or name="quoted string": sipmessage splits a challenge at every comma, also
# inside quotes, and refuses qop="auth,auth-int" (what many PBXs send).
_PARAM = re.compile(r'\s*([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*(?:,|$)')


def challenge_of(response) -> AuthChallenge:
    """The WWW-Authenticate (401) or Proxy-Authenticate (407) challenge of a response."""
    header = response.headers.get("WWW-Authenticate" if response.code == 401 else "Proxy-Authenticate")
    if not header:
        raise AuthError(f"{response.code} without a challenge header")
    scheme, _, rest = header.strip().partition(" ")
    params, at = {}, 0
    while at < len(rest):
        m = _PARAM.match(rest, at)
        if m is None or m.end() == at:
            raise AuthError(f"unreadable challenge {header!r}")
        value = m.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[m.group(1).lower()] = value
        at = m.end()
    return AuthChallenge(scheme=scheme, parameters=AuthParameters(**params))


def answer(challenge: AuthChallenge, *, method: str, uri: str, username: str, password: str,
           nc: int = 1) -> AuthCredentials:
    if challenge.scheme.lower() != "digest":
        raise AuthError(f"unsupported authentication scheme {challenge.scheme!r} (only Digest)")
    p = challenge.parameters
    algorithm = p.get("algorithm", "MD5")
    h = _HASHES.get(algorithm.upper())
    if h is None:
        raise AuthError(f"unsupported digest algorithm {algorithm!r} (MD5 or SHA-256)")

    def hexdigest(text: str) -> str:
        return h(text.encode()).hexdigest()

    realm, nonce = p.get("realm", ""), p.get("nonce", "")
    ha1 = hexdigest(f"{username}:{realm}:{password}")
    ha2 = hexdigest(f"{method}:{uri}")
    out = {"username": username, "realm": realm, "nonce": nonce, "uri": uri}
    qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        cnonce, count = secrets.token_hex(8), f"{nc:08x}"
        out["response"] = hexdigest(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        out.update(qop="auth", nc=count, cnonce=cnonce)
    elif qops:
        raise AuthError(f"unsupported digest qop {p['qop']!r} (only auth)")
    else:
        out["response"] = hexdigest(f"{ha1}:{nonce}:{ha2}")
    out["algorithm"] = algorithm
    if "opaque" in p:
        out["opaque"] = p["opaque"]
    return AuthCredentials(scheme="Digest", parameters=AuthParameters(**out))
