"""Auth: token headers, key-pair JWTs verified with the public key, renewal, key loading."""

from __future__ import annotations

import base64
import hashlib

import httpx
import jwt
import pytest
from client_support import ok, reply
from cryptography.hazmat.primitives import serialization

from tasknb import AuthError, KeyPairAuth, OAuthAuth, PatAuth
from tasknb.auth import (
    JWT_MAX_LIFETIME,
    TokenAuth,
    jwt_account,
    load_private_key,
    public_key_fingerprint,
)


def _pem(key, passphrase: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _expected_fingerprint(key) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("auth", "kind"),
    [(PatAuth("p-1"), "PROGRAMMATIC_ACCESS_TOKEN"), (OAuthAuth("o-1"), "OAUTH")],
)
def test_token_auth_headers(api, auth, kind) -> None:
    client = api.client(lambda r: reply(200, []), auth=auth)
    client.list_tasks()
    headers = api.requests[0].headers
    assert headers["Authorization"].startswith("Bearer ")
    assert headers["Authorization"].removeprefix("Bearer ") in {"p-1", "o-1"}
    assert headers["X-Snowflake-Authorization-Token-Type"] == kind


def test_token_without_type_sends_no_type_header() -> None:
    request = httpx.Request("GET", "https://a.snowflakecomputing.com/")
    flow = TokenAuth("t").auth_flow(request)
    sent = next(flow)
    assert sent.headers["Authorization"] == "Bearer t"
    assert "X-Snowflake-Authorization-Token-Type" not in sent.headers


def test_empty_token_is_refused() -> None:
    with pytest.raises(AuthError, match="token is empty"):
        PatAuth("")


def test_keypair_jwt_verifies_with_the_public_key(api, rsa_key) -> None:
    clock = Clock(1_750_000_000.0)
    auth = KeyPairAuth("myorg-acct1.us-east-1", "jane.doe", private_key=rsa_key, clock=clock)
    client = api.client(lambda r: reply(200, []), auth=auth)
    client.list_tasks()
    request = api.requests[0]
    assert request.headers["X-Snowflake-Authorization-Token-Type"] == "KEYPAIR_JWT"
    token = request.headers["Authorization"].removeprefix("Bearer ")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    claims = jwt.decode(
        token,
        rsa_key.public_key(),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    fingerprint = _expected_fingerprint(rsa_key)
    assert claims["iss"] == f"MYORG-ACCT1.JANE.DOE.{fingerprint}"
    assert claims["sub"] == "MYORG-ACCT1.JANE.DOE"
    assert claims["iat"] == 1_750_000_000
    assert 0 < claims["exp"] - claims["iat"] <= JWT_MAX_LIFETIME
    assert auth.fingerprint == fingerprint == public_key_fingerprint(rsa_key.public_key())


def test_keypair_jwt_is_reused_then_renewed_before_expiry(rsa_key) -> None:
    clock = Clock(1_000_000.0)
    auth = KeyPairAuth("acct", "u", private_key=rsa_key, lifetime=3600, clock=clock)
    first = auth.token()
    clock.now += 3000
    assert auth.token() is first and auth.minted == 1
    clock.now += 500  # within JWT_RENEW_MARGIN of the one-hour limit
    second = auth.token()
    assert second is not first and auth.minted == 2
    claims = jwt.decode(
        second.reveal(), rsa_key.public_key(), algorithms=["RS256"], options={"verify_exp": False}
    )
    assert claims["iat"] == 1_003_500


def test_keypair_renews_once_on_401(api, rsa_key) -> None:
    answers = iter([reply(401, {"message": "JWT token is invalid.", "code": "390144"}), ok()])
    clock = Clock(2_000_000.0)
    auth = KeyPairAuth("acct", "u", private_key=rsa_key, clock=clock)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        clock.now += 1
        return next(answers)

    client = api.client(handler, auth=auth)
    assert client.resume_task("t1") == "Request successfully completed"
    assert auth.minted == 2 and len(seen) == 2
    assert seen[0] != seen[1]  # a fresh JWT, and the 401 (nothing applied) allowed the resend


def test_lifetime_above_one_hour_is_refused(rsa_key) -> None:
    with pytest.raises(AuthError, match="between 1 and 3600"):
        KeyPairAuth("acct", "u", private_key=rsa_key, lifetime=7200)


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ("myorg-acct1", "MYORG-ACCT1"),
        ("xy12345.us-east-2.aws", "XY12345"),
        ("xy12345.snowflakecomputing.com", "XY12345"),
        ("myorg-acct1.global", "MYORG-ACCT1"),  # as connector 5.2 (4.x: MYORG)
        ("https://myorg-acct1.snowflakecomputing.com", "MYORG-ACCT1"),
        ("Org_Acct", "ORG_ACCT"),
    ],
)
def test_jwt_account_rules(account, expected) -> None:
    assert jwt_account(account) == expected


def test_encrypted_key_file_with_passphrase(tmp_path, rsa_key) -> None:
    path = tmp_path / "rsa_key.p8"
    path.write_bytes(_pem(rsa_key, b"open sesame"))
    auth = KeyPairAuth("acct", "u", private_key_file=path, passphrase="open sesame")
    assert auth.fingerprint == _expected_fingerprint(rsa_key)
    with pytest.raises(AuthError, match="is encrypted: set its passphrase"):
        load_private_key(path=path)
    with pytest.raises(AuthError, match="wrong passphrase") as info:
        load_private_key(path=path, passphrase="wrong")
    assert "wrong" not in str(info.value).replace("wrong passphrase", "")


def test_raw_pem_and_der_keys(tmp_path, rsa_key) -> None:
    raw = _pem(rsa_key).decode()
    assert KeyPairAuth("a", "u", private_key_raw=raw).fingerprint == _expected_fingerprint(rsa_key)
    der = tmp_path / "key.der"
    der.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert load_private_key(path=der).key_size == 2048


def test_bad_key_material_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(AuthError, match="cannot read private key file"):
        load_private_key(path=tmp_path / "missing.p8")
    junk = tmp_path / "junk.p8"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(AuthError, match="not an RSA private key"):
        load_private_key(path=junk)
    with pytest.raises(AuthError, match="no private key given"):
        load_private_key()


def test_non_rsa_key_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(AuthError, match="not an RSA key"):
        load_private_key(raw=pem)


def test_keypair_jwt_passes_full_verification_including_expiry(rsa_key) -> None:
    auth = KeyPairAuth("myorg-acct", "jane", private_key=rsa_key)
    token = auth.token().reveal()
    claims = jwt.decode(
        token,
        rsa_key.public_key(),
        algorithms=["RS256"],
        issuer=f"MYORG-ACCT.JANE.{_expected_fingerprint(rsa_key)}",
        options={"require": ["iss", "sub", "iat", "exp"]},
    )
    assert claims["sub"] == "MYORG-ACCT.JANE"
    from cryptography.hazmat.primitives.asymmetric import rsa

    wrong_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, wrong_key.public_key(), algorithms=["RS256"])
    expired = KeyPairAuth("a", "u", private_key=rsa_key, clock=lambda: 1_000_000.0).token()
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired.reveal(), rsa_key.public_key(), algorithms=["RS256"])
