"""Tessera against Authlib, a widely used Python OAuth 2.0 / OpenID Connect client library.

Each test runs one flow end to end with Authlib's `OAuth2Session` on the client side and this
module's `Browser` playing the user agent (a cookie jar, no automatic redirects, the hosted
sign-in form filled in). ID tokens are verified with Authlib's JOSE implementation against the
keys published at `jwks_uri`.

The runner (`interop/run.sh`) starts Tessera, provisions the fixtures and exports them as
`INTEROP_*` environment variables; see `interop/provision.py`.
"""

import os
import time
import warnings
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc import rpinitiated
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata

with warnings.catch_warnings():
    # authlib.jose is deprecated in favour of joserfc, but it is the JWT API of Authlib that
    # its users call (and what CodeIDToken builds on); the import warning is noise here.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken

# The suite talks to Tessera on loopback without TLS. Authlib refuses http:// metadata and
# endpoints unless told otherwise; this is the documented switch, and it only affects this
# process.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

ISSUER = os.environ["INTEROP_ISSUER"]
CONFIDENTIAL_ID = os.environ["INTEROP_CONFIDENTIAL_CLIENT_ID"]
CONFIDENTIAL_SECRET = os.environ["INTEROP_CONFIDENTIAL_CLIENT_SECRET"]
PUBLIC_ID = os.environ["INTEROP_PUBLIC_CLIENT_ID"]
USER_EMAIL = os.environ["INTEROP_USER_EMAIL"]
USER_PASSWORD = os.environ["INTEROP_USER_PASSWORD"]
REDIRECT_URI = os.environ["INTEROP_REDIRECT_URI"]
POST_LOGOUT_REDIRECT_URI = os.environ["INTEROP_POST_LOGOUT_REDIRECT_URI"]
CORE_URL = os.environ["INTEROP_CORE_URL"]
CORE_TOKEN = os.environ["INTEROP_CORE_TOKEN"]

TIMEOUT = 10


# ---------------------------------------------------------------------------------------------
# The user agent
# ---------------------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """Collects each form's action and its named inputs. `HTMLParser` unescapes attribute
    values (`&#x2f;` → `/`), which is what a browser would do."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}})
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            self.forms[-1]["fields"].setdefault(attrs["name"], attrs.get("value") or "")


def only_form(page_url, body):
    parser = _Forms()
    parser.feed(body)
    assert len(parser.forms) == 1, f"expected one form on {page_url}, found {parser.forms}"
    form = parser.forms[0]
    return urljoin(page_url, form["action"]), form["fields"]


class Browser:
    """A user agent: keeps cookies, follows nothing by itself."""

    def __init__(self):
        self.http = requests.Session()

    def get(self, url):
        return self.http.get(url, allow_redirects=False, timeout=TIMEOUT)

    def post(self, url, data):
        return self.http.post(url, data=data, allow_redirects=False, timeout=TIMEOUT)

    def sign_in(self, authorization_url):
        """Follows an authorization request through sign-in (and consent, if asked) and
        returns the redirect back to the client, as an absolute URL."""
        response = self.get(authorization_url)
        assert response.status_code == 303, (response.status_code, response.text)
        location = urljoin(authorization_url, response.headers["Location"])
        if location.startswith(REDIRECT_URI):
            return location  # an existing session: no sign-in page
        page = self.get(location)
        assert page.status_code == 200, (page.status_code, page.text)
        action, fields = only_form(location, page.text)
        assert action.endswith("/login"), action
        assert {"csrf", "username", "password"} <= fields.keys(), fields
        response = self.post(
            action,
            {"csrf": fields["csrf"], "username": USER_EMAIL, "password": USER_PASSWORD},
        )
        assert response.status_code == 303, (response.status_code, response.text)
        location = urljoin(action, response.headers["Location"])
        if location.startswith(REDIRECT_URI):
            return location
        # A third-party client: the consent page.
        page = self.get(location)
        assert page.status_code == 200, (page.status_code, page.text)
        action, fields = only_form(location, page.text)
        response = self.post(action, {"csrf": fields["csrf"], "decision": "allow"})
        assert response.status_code == 303, (response.status_code, response.text)
        location = urljoin(action, response.headers["Location"])
        assert location.startswith(REDIRECT_URI), location
        return location


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def metadata():
    response = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def jwks(metadata):
    response = requests.get(metadata["jwks_uri"], timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return JsonWebKey.import_key_set(response.json())


def confidential_client(scope="openid profile email offline_access"):
    return OAuth2Session(
        CONFIDENTIAL_ID,
        CONFIDENTIAL_SECRET,
        token_endpoint_auth_method="client_secret_basic",
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )


def public_client(scope="openid profile email offline_access"):
    return OAuth2Session(
        PUBLIC_ID,
        token_endpoint_auth_method="none",
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )


def code_flow(session, metadata, browser=None):
    """Authorization code + PKCE (S256) with a nonce; returns (token, nonce, browser)."""
    browser = browser or Browser()
    verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    assert "code_challenge=" in url and "code_challenge_method=S256" in url
    callback = browser.sign_in(url)
    params = parse_qs(urlsplit(callback).query)
    assert params["state"] == [state]
    # RFC 9207 §2.4: the client compares `iss` with the issuer it sent the request to.
    assert params["iss"] == [ISSUER]
    token = session.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback,
        code_verifier=verifier,
        state=state,
    )
    assert token["token_type"].lower() == "bearer"
    assert token["access_token"] and token["id_token"]
    return token, nonce, browser


def verify_id_token(id_token, jwks, metadata, client_id, nonce, access_token):
    """OIDC Core §3.1.3.7: signature by a key of `jwks_uri`, iss, aud, azp, exp, iat, nonce,
    and (§3.1.3.8) at_hash."""
    jwt = JsonWebToken(metadata["id_token_signing_alg_values_supported"])
    claims = jwt.decode(
        id_token,
        key=jwks,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": ISSUER},
            "aud": {"essential": True, "value": client_id},
        },
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate(leeway=5)
    # What validate() checked, stated for the reader (and in case a library update loosens it).
    assert claims["iss"] == ISSUER
    assert claims["aud"] == client_id or client_id in claims["aud"]
    assert claims["nonce"] == nonce
    assert claims["exp"] > time.time() - 5
    assert "at_hash" in claims
    assert claims.header["kid"], "the ID token names its key"
    return claims


def oauth_error_of(call):
    """Runs `call`, which must fail with an OAuth error response, and returns the error code."""
    with pytest.raises(OAuthError) as raised:
        call()
    return raised.value.error


def introspect(metadata, token, hint=None):
    session = confidential_client()
    response = session.introspect_token(
        metadata["introspection_endpoint"], token=token, token_type_hint=hint
    )
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_discovery_document_is_valid_openid_provider_metadata(metadata, jwks):
    # OIDC Discovery §4.3: the issuer in the document is the one it was fetched for.
    assert metadata["issuer"] == ISSUER
    # Authlib also enforces OIDC Discovery §3's "RS256 MUST be included" in
    # id_token_signing_alg_values_supported; that rule has its own test below too.
    OpenIDProviderMetadata(metadata).validate(metadata_classes=[rpinitiated.OpenIDProviderMetadata])
    for endpoint in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "end_session_endpoint",
        "jwks_uri",
    ):
        assert metadata[endpoint].startswith(ISSUER + "/"), (endpoint, metadata[endpoint])
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert "code" in metadata["response_types_supported"]
    assert metadata.get("authorization_response_iss_parameter_supported") is True
    assert {"client_secret_basic", "none"} <= set(
        metadata["token_endpoint_auth_methods_supported"]
    )
    assert len(jwks.keys) >= 1


def test_discovery_lists_rs256_for_id_tokens(metadata):
    OpenIDProviderMetadata(metadata).validate_id_token_signing_alg_values_supported()


def test_authorization_code_with_pkce_confidential_client(metadata, jwks):
    session = confidential_client()
    token, nonce, _ = code_flow(session, metadata)
    claims = verify_id_token(
        token["id_token"], jwks, metadata, CONFIDENTIAL_ID, nonce, token["access_token"]
    )
    assert claims["sub"]
    assert "refresh_token" in token  # offline_access was granted


def test_authorization_code_with_pkce_public_client(metadata, jwks):
    session = public_client()
    token, nonce, _ = code_flow(session, metadata)
    verify_id_token(token["id_token"], jwks, metadata, PUBLIC_ID, nonce, token["access_token"])


def test_authorization_code_is_refused_when_reused(metadata):
    session = confidential_client()
    browser = Browser()
    verifier = generate_token(64)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=generate_token(24)
    )
    callback = browser.sign_in(url)
    session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    # RFC 6749 §4.1.2: a code is used once.
    error = oauth_error_of(
        lambda: confidential_client().fetch_token(
            metadata["token_endpoint"],
            authorization_response=callback,
            code_verifier=verifier,
            state=state,
        )
    )
    assert error == "invalid_grant"


def test_id_token_with_a_different_nonce_is_rejected(metadata, jwks):
    session = confidential_client()
    token, _, _ = code_flow(session, metadata)
    # Authlib raises joserfc's InvalidClaimError here; matching on the claim name keeps the
    # test independent of which JOSE package Authlib delegates to.
    with pytest.raises(Exception, match="nonce"):
        verify_id_token(
            token["id_token"], jwks, metadata, CONFIDENTIAL_ID, "not-the-nonce", token["access_token"]
        )


@pytest.mark.parametrize("kind", ["confidential", "public"])
def test_refresh_token_rotates_and_the_old_one_is_refused(metadata, jwks, kind):
    make = confidential_client if kind == "confidential" else public_client
    session = make()
    token, _, _ = code_flow(session, metadata)
    first = token["refresh_token"]
    refreshed = make().refresh_token(metadata["token_endpoint"], refresh_token=first)
    assert refreshed["access_token"] and refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] and refreshed["refresh_token"] != first
    if "id_token" in refreshed:
        # OIDC Core §12.2: same iss, sub, aud as the original; no nonce required.
        jwt = JsonWebToken(metadata["id_token_signing_alg_values_supported"])
        claims = jwt.decode(refreshed["id_token"], key=jwks)
        original = jwt.decode(token["id_token"], key=jwks)
        assert (claims["iss"], claims["sub"], claims["aud"]) == (
            original["iss"],
            original["sub"],
            original["aud"],
        )
    # RFC 9700 §4.14.2 / RFC 6749 §6: the rotated-out token no longer works.
    error = oauth_error_of(
        lambda: make().refresh_token(metadata["token_endpoint"], refresh_token=first)
    )
    assert error == "invalid_grant"


def test_userinfo_returns_the_signed_in_user(metadata, jwks):
    session = confidential_client()
    token, nonce, _ = code_flow(session, metadata)
    claims = verify_id_token(
        token["id_token"], jwks, metadata, CONFIDENTIAL_ID, nonce, token["access_token"]
    )
    response = session.get(metadata["userinfo_endpoint"], timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    info = response.json()
    # OIDC Core §5.3.2: the sub in the UserInfo response matches the ID token's.
    assert info["sub"] == claims["sub"]
    assert info["email"] == USER_EMAIL
    assert info["email_verified"] is True
    assert info["name"] == "Ada Lovelace"
    assert info["given_name"] == "Ada"
    assert info["family_name"] == "Lovelace"


def test_userinfo_refuses_a_missing_token(metadata):
    response = requests.get(metadata["userinfo_endpoint"], timeout=TIMEOUT)
    # RFC 6750 §3.1
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


def test_introspection_is_active_then_inactive_after_revocation(metadata):
    session = confidential_client()
    token, _, _ = code_flow(session, metadata)
    info = introspect(metadata, token["access_token"], "access_token")
    # RFC 7662 §2.2
    assert info["active"] is True
    assert info["client_id"] == CONFIDENTIAL_ID
    assert info["iss"] == ISSUER
    assert "openid" in info["scope"].split()
    assert info["exp"] > time.time()
    assert introspect(metadata, token["refresh_token"], "refresh_token")["active"] is True

    response = session.revoke_token(
        metadata["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token"
    )
    assert response.status_code == 200, response.text

    assert introspect(metadata, token["refresh_token"], "refresh_token") == {"active": False}
    # Revoking a refresh token revokes the access tokens of the same grant (RFC 7009 §2.1
    # allows it; Tessera documents it).
    assert introspect(metadata, token["access_token"], "access_token") == {"active": False}


def test_introspection_of_an_unknown_token_is_inactive(metadata):
    assert introspect(metadata, "no-such-token") == {"active": False}


def test_revocation_of_an_access_token_ends_its_use(metadata):
    session = public_client()
    token, _, _ = code_flow(session, metadata)
    assert session.get(metadata["userinfo_endpoint"], timeout=TIMEOUT).status_code == 200
    # A public client revokes its own tokens with only its client_id (RFC 7009 §2.1).
    response = session.revoke_token(
        metadata["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token"
    )
    assert response.status_code == 200, response.text
    assert session.get(metadata["userinfo_endpoint"], timeout=TIMEOUT).status_code == 401
    error = oauth_error_of(
        lambda: public_client().refresh_token(
            metadata["token_endpoint"], refresh_token=token["refresh_token"]
        )
    )
    assert error == "invalid_grant"


def test_revocation_of_an_unknown_token_succeeds(metadata):
    # RFC 7009 §2.2: "invalid tokens do not cause an error response".
    response = confidential_client().revoke_token(
        metadata["revocation_endpoint"], token="no-such-token"
    )
    assert response.status_code == 200, response.text


def test_client_credentials(metadata):
    session = confidential_client(scope="api:read")
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer"
    assert token["access_token"]
    assert "refresh_token" not in token and "id_token" not in token
    info = introspect(metadata, token["access_token"], "access_token")
    assert info["active"] is True
    assert info["client_id"] == CONFIDENTIAL_ID
    assert info["scope"].split() == ["api:read"]


def private_key_jwt_client(alg):
    """A key pair made by Authlib's JOSE library (joserfc), its public half registered through
    the Core API as the `jwks` of a new `private_key_jwt` client, and an `OAuth2Session` that
    authenticates with Authlib's `PrivateKeyJWT`. Without a fixed `token_endpoint`, Authlib
    makes the assertion's `aud` the URL of the endpoint it calls (token or introspection)."""
    from joserfc.jwk import ECKey, OKPKey, RSAKey

    kid = generate_token(8)
    key = {
        "ES256": lambda: ECKey.generate_key("P-256", parameters={"kid": kid}),
        "RS256": lambda: RSAKey.generate_key(2048, parameters={"kid": kid}),
        "EdDSA": lambda: OKPKey.generate_key("Ed25519", parameters={"kid": kid}),
    }[alg]()
    response = requests.post(
        f"{CORE_URL}/clients",
        headers={"Authorization": f"Bearer {CORE_TOKEN}"},
        json={
            "name": f"interop private_key_jwt {alg}",
            "client_type": "confidential",
            "grant_types": ["client_credentials"],
            "allowed_scopes": ["api:read"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.as_dict(private=False)]},
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    registered = response.json()
    assert "client_secret" not in registered
    auth = PrivateKeyJWT(alg=alg)
    session = OAuth2Session(
        registered["client_id"],
        key,
        token_endpoint_auth_method=auth,
        revocation_endpoint_auth_method=auth,
        scope="api:read",
    )
    return session, registered["client_id"]


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_private_key_jwt_client_credentials_and_introspection(metadata, alg):
    # OIDC Core §9 / RFC 7523: what discovery advertises, Authlib uses.
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert alg in metadata["token_endpoint_auth_signing_alg_values_supported"]
    session, client_id = private_key_jwt_client(alg)
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer"
    assert token["access_token"]
    # A second token: every request carries a fresh assertion (its own jti).
    again = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert again["access_token"] != token["access_token"]
    response = session.introspect_token(
        metadata["introspection_endpoint"], token=token["access_token"]
    )
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["active"] is True
    assert info["client_id"] == client_id


def test_private_key_jwt_with_an_unregistered_key_is_refused(metadata):
    from joserfc.jwk import ECKey

    session, client_id = private_key_jwt_client("ES256")
    stranger = OAuth2Session(
        client_id,
        ECKey.generate_key("P-256", parameters={"kid": "stranger"}),
        token_endpoint_auth_method=PrivateKeyJWT(alg="ES256"),
        scope="api:read",
    )
    error = oauth_error_of(
        lambda: stranger.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    )
    assert error == "invalid_client"


def test_client_credentials_is_refused_to_a_public_client(metadata):
    error = oauth_error_of(
        lambda: public_client(scope="api:read").fetch_token(
            metadata["token_endpoint"], grant_type="client_credentials"
        )
    )
    assert error in ("unauthorized_client", "invalid_client")


def test_rp_initiated_logout_redirects_with_state(metadata):
    session = confidential_client()
    token, _, browser = code_flow(session, metadata)
    state = generate_token(16)
    logout_url = (
        metadata["end_session_endpoint"]
        + "?"
        + urlencode(
            {
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI,
                "state": state,
            }
        )
    )
    response = browser.get(logout_url)
    # OIDC RP-Initiated Logout 1.0 §3: back to the registered URI, with `state`.
    assert response.status_code == 303, (response.status_code, response.text)
    location = urljoin(logout_url, response.headers["Location"])
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == POST_LOGOUT_REDIRECT_URI
    assert parse_qs(parts.query) == {"state": [state]}

    # The session is gone: a new authorization request asks the user to sign in again.
    again, _ = confidential_client().create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=generate_token(64)
    )
    response = browser.get(again)
    assert response.status_code == 303
    assert not urljoin(again, response.headers["Location"]).startswith(REDIRECT_URI)
