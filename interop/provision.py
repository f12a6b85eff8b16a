"""Provisions the interop fixtures on a running Tessera through the Core API.

Reads the Core API credential that `tessera admin create-credential --json` printed (on
standard input), obtains a Core API token with the client-credentials grant, then creates in
the `default` issuer: one confidential client (client_secret_basic), one public client (token
endpoint auth method `none`) and one user. Prints the fixtures as shell assignments
(`INTEROP_…='…'`) for the runner to source, among them the Core API token and URL, with which
the suites register their own `private_key_jwt` clients (their key pairs are made by each
library, which the standard library here cannot do).

Standard library only, so that it runs before (and without) the test virtualenv.
"""

import base64
import json
import secrets
import shlex
import sys
import urllib.error
import urllib.parse
import urllib.request

REDIRECT_URI = "http://127.0.0.1:9/callback"
POST_LOGOUT_REDIRECT_URI = "http://127.0.0.1:9/signed-out"


def call(method, url, *, token=None, basic=None, form=None, body=None):
    request = urllib.request.Request(url, method=method)
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if basic:
        user, password = basic
        # RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
        pair = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    try:
        with urllib.request.urlopen(request, data=data, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        sys.exit(f"{method} {url} -> {error.code}: {error.read().decode(errors='replace')}")


def main():
    base = sys.argv[1].rstrip("/")
    credential = json.load(sys.stdin)
    _, token = call(
        "POST",
        f"{base}/system/oauth/token",  # the credential names the default port, not ours
        basic=(credential["client_id"], credential["client_secret"]),
        form={"grant_type": "client_credentials"},
    )
    access_token = token["access_token"]
    core = f"{base}/core/v1/issuers/default"

    common = {
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": [POST_LOGOUT_REDIRECT_URI],
        # First-party clients skip the consent page; the suites still handle it if shown.
        "first_party": True,
    }
    status, confidential = call(
        "POST",
        f"{core}/clients",
        token=access_token,
        body={
            "name": "interop confidential",
            "client_type": "confidential",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            # `api:read` is what the client-credentials tests ask for; the OpenID scopes are
            # always allowed for the code flow.
            "allowed_scopes": ["openid", "profile", "email", "offline_access", "api:read"],
            **common,
        },
    )
    assert status == 201, status
    status, public = call(
        "POST",
        f"{core}/clients",
        token=access_token,
        body={
            "name": "interop public",
            "client_type": "public",
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            **common,
        },
    )
    assert status == 201, status
    email = f"interop-{secrets.token_hex(4)}@example.com"
    password = "Interop-" + secrets.token_urlsafe(12)
    status, user = call(
        "POST",
        f"{core}/users",
        token=access_token,
        body={
            "email": email,
            "password": password,
            "email_verified": True,
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
        },
    )
    assert status == 201, status

    fixtures = {
        "INTEROP_BASE_URL": base,
        "INTEROP_ISSUER": f"{base}/default",
        "INTEROP_CONFIDENTIAL_CLIENT_ID": confidential["client_id"],
        "INTEROP_CONFIDENTIAL_CLIENT_SECRET": confidential["client_secret"],
        "INTEROP_PUBLIC_CLIENT_ID": public["client_id"],
        "INTEROP_USER_ID": user["id"],
        "INTEROP_USER_EMAIL": email,
        "INTEROP_USER_PASSWORD": password,
        "INTEROP_REDIRECT_URI": REDIRECT_URI,
        "INTEROP_POST_LOGOUT_REDIRECT_URI": POST_LOGOUT_REDIRECT_URI,
        "INTEROP_CORE_URL": core,
        "INTEROP_CORE_TOKEN": access_token,
    }
    for name, value in fixtures.items():
        print(f"{name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
