"""Authentication for the REST API as ``httpx.Auth`` classes.

    >>> auth = PatAuth("my-pat-secret")
    >>> auth
    PatAuth(token=***)

Every scheme sends ``Authorization: Bearer <token>`` and
``X-Snowflake-Authorization-Token-Type``:

* ``PatAuth``: a programmatic access token (``PROGRAMMATIC_ACCESS_TOKEN``);
* ``OAuthAuth``: an OAuth access token (``OAUTH``);
* ``KeyPairAuth``: a self-signed RS256 JWT minted from an RSA private key (``KEYPAIR_JWT``),
  ``iss = ACCOUNT.USER.SHA256:<fingerprint>``, ``sub = ACCOUNT.USER``, renewed before it
  expires and once more if the server answers 401.

Secrets are held in ``Secret`` and never appear in a repr, a log line or an error.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import httpx

from ._secret import Secret, reveal
from .errors import AuthError

__all__ = [
    "DEFAULT_JWT_LIFETIME",
    "JWT_MAX_LIFETIME",
    "JWT_RENEW_MARGIN",
    "TOKEN_TYPE_HEADER",
    "KeyPairAuth",
    "OAuthAuth",
    "PatAuth",
    "Secret",
    "TokenAuth",
    "jwt_account",
    "load_private_key",
    "public_key_fingerprint",
]

TOKEN_TYPE_HEADER = "X-Snowflake-Authorization-Token-Type"
JWT_MAX_LIFETIME = 3600  # Snowflake honours a key-pair JWT for at most one hour after iat
DEFAULT_JWT_LIFETIME = 3540  # 59 minutes, as in Snowflake's own sample code
JWT_RENEW_MARGIN = 120  # mint a new JWT this many seconds before the old one expires


class TokenAuth(httpx.Auth):
    """Bearer token with an explicit token type.

        >>> TokenAuth("t", token_type="OAUTH").token_type
        'OAUTH'

    ``token_type=None`` omits the type header (Snowflake then infers it from the token).
    """

    token_type: str | None = None

    def __init__(self, token: str | Secret, *, token_type: str | None = None) -> None:
        if not reveal(token):
            raise AuthError("the token is empty: pass the token text (or token_file_path)")
        self._token = Secret(token)
        if token_type is not None:
            self.token_type = token_type

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        if self.token_type:
            request.headers[TOKEN_TYPE_HEADER] = self.token_type
        yield request

    def __repr__(self) -> str:
        kind = "" if type(self) is not TokenAuth else f", token_type={self.token_type!r}"
        return f"{type(self).__name__}(token=***{kind})"


class PatAuth(TokenAuth):
    """A programmatic access token (PAT).

    >>> PatAuth("x").token_type
    'PROGRAMMATIC_ACCESS_TOKEN'
    """

    token_type = "PROGRAMMATIC_ACCESS_TOKEN"

    def __init__(self, token: str | Secret) -> None:
        super().__init__(token)


class OAuthAuth(TokenAuth):
    """An OAuth access token (Snowflake OAuth or external OAuth).

    >>> OAuthAuth("x").token_type
    'OAUTH'
    """

    token_type = "OAUTH"

    def __init__(self, token: str | Secret) -> None:
        super().__init__(token)


def load_private_key(
    *,
    path: str | Path | None = None,
    raw: str | bytes | Secret | None = None,
    passphrase: str | Secret | None = None,
) -> Any:
    """Load an RSA private key from a PEM/DER file or PEM text (optionally encrypted).

        >>> load_private_key()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        tasknb.errors.AuthError: no private key given ...

    Errors name the file and say what to do, never the key or passphrase.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if path is None and raw is None:
        raise AuthError("no private key given: set private_key_file (or private_key_raw)")
    where = "private_key_raw"
    if path is not None:
        where = f"private key file {str(path)!r}"
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise AuthError(f"cannot read {where}: {exc.strerror or exc}") from None
    else:
        text = reveal(raw) if isinstance(raw, Secret) else raw
        data = text.encode() if isinstance(text, str) else bytes(text or b"")
    password = reveal(passphrase)
    secret = password.encode() if password else None
    loaders = (
        [serialization.load_pem_private_key]
        if data.lstrip().startswith(b"-----")
        else [serialization.load_der_private_key]
    )
    try:
        key = loaders[0](data, password=secret)
    except TypeError as exc:
        if secret is None:
            raise AuthError(
                f"{where} is encrypted: set its passphrase (private_key_file_pwd, "
                "private_key_passphrase or the PRIVATE_KEY_PASSPHRASE variable)"
            ) from None
        raise AuthError(
            f"{where} is not encrypted: remove the passphrase setting ({type(exc).__name__})"
        ) from None
    except ValueError:
        hint = "wrong passphrase or " if secret is not None else ""
        raise AuthError(
            f"cannot load {where}: {hint}not an RSA private key in PEM or DER (PKCS#8) form"
        ) from None
    except UnsupportedAlgorithm as exc:
        raise AuthError(f"cannot load {where}: {type(exc).__name__}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthError(f"{where} is not an RSA key: Snowflake key-pair auth needs RSA")
    return key


def public_key_fingerprint(private_key: Any) -> str:
    """``SHA256:`` + base64 of SHA-256 over the DER SubjectPublicKeyInfo (= RSA_PUBLIC_KEY_FP).

    Works with a private or a public key object.
    """
    from cryptography.hazmat.primitives import serialization

    public = private_key.public_key() if hasattr(private_key, "public_key") else private_key
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def jwt_account(account: str) -> str:
    """The account part of ``iss``/``sub``, as the connector makes it: the first label, upper.

    >>> jwt_account("myorg-acct1"), jwt_account("xy12345.us-east-2.aws")
    ('MYORG-ACCT1', 'XY12345')
    >>> jwt_account("xy12345-abc.global"), jwt_account("https://myorg_acct.snowflakecomputing.com/")
    ('XY12345-ABC', 'MYORG_ACCT')

    No scheme, region, cloud or domain; underscores stay (the host uses hyphens).
    """
    text = account.strip()
    if "://" in text:
        text = text.partition("://")[2]
    return text.partition("/")[0].partition(".")[0].upper()


class KeyPairAuth(httpx.Auth):
    """Key-pair authentication: a JWT signed with the user's RSA private key.

        >>> KeyPairAuth  # doctest: +ELLIPSIS
        <class 'tasknb.auth.KeyPairAuth'>

    ``KeyPairAuth(account, user, private_key_file=..., passphrase=...)`` (or
    ``private_key_raw=``, or ``private_key=`` a loaded key). The token lives ``lifetime``
    seconds (at most one hour), is reused until ``JWT_RENEW_MARGIN`` seconds before it
    expires, and is minted anew once if the server answers 401. ``clock`` is injectable.
    """

    def __init__(
        self,
        account: str,
        user: str,
        *,
        private_key_file: str | Path | None = None,
        private_key_raw: str | bytes | Secret | None = None,
        private_key: Any = None,
        passphrase: str | Secret | None = None,
        lifetime: int = DEFAULT_JWT_LIFETIME,
        renew_margin: int = JWT_RENEW_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not account:
            raise AuthError("key-pair auth needs the account (e.g. account = 'myorg-myacct')")
        if not user:
            raise AuthError("key-pair auth needs the user name (user = '...')")
        if not 0 < lifetime <= JWT_MAX_LIFETIME:
            raise AuthError(f"lifetime must be between 1 and {JWT_MAX_LIFETIME} seconds")
        self._key = private_key or load_private_key(
            path=private_key_file, raw=private_key_raw, passphrase=passphrase
        )
        self.account = jwt_account(account)
        self.user = user.upper()  # as the connector: quotes and all, upper case
        self.fingerprint = public_key_fingerprint(self._key)
        self.lifetime = lifetime
        self.renew_margin = min(renew_margin, lifetime // 2)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Secret | None = None
        self._expires_at = 0.0
        self.minted = 0  # how many JWTs were minted (renewals are observable in tests)

    @property
    def issuer(self) -> str:
        return f"{self.account}.{self.user}.{self.fingerprint}"

    @property
    def subject(self) -> str:
        return f"{self.account}.{self.user}"

    def _mint(self, now: float) -> Secret:
        import jwt

        issued = int(now)
        claims = {
            "iss": self.issuer,
            "sub": self.subject,
            "iat": issued,
            "exp": issued + self.lifetime,
        }
        token = jwt.encode(claims, self._key, algorithm="RS256")
        self.minted += 1
        self._expires_at = issued + self.lifetime
        return Secret(token)

    def token(self, *, force: bool = False) -> Secret:
        """The current JWT, minted anew when close to expiry (or when ``force``)."""
        with self._lock:
            now = self._clock()
            if force or self._token is None or now >= self._expires_at - self.renew_margin:
                self._token = self._mint(now)
            return self._token

    def _apply(self, request: httpx.Request, token: Secret) -> None:
        request.headers["Authorization"] = f"Bearer {token.reveal()}"
        request.headers[TOKEN_TYPE_HEADER] = "KEYPAIR_JWT"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._apply(request, self.token())
        response = yield request
        if response.status_code == 401:
            # a 401 means the server refused to authenticate: nothing was applied, so one
            # resend with a fresh token is safe for every method
            self._apply(request, self.token(force=True))
            yield request

    def __repr__(self) -> str:
        return (
            f"KeyPairAuth(account={self.account!r}, user={self.user!r}, "
            f"fingerprint={self.fingerprint!r}, private_key=***)"
        )
