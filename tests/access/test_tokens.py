from __future__ import annotations

import pytest
import sqlalchemy as sa

from champion import audit
from champion.access import Keyring, api_tokens, check_binding, digest, required_scope
from champion.errors import Conflict, InvalidInput, NotFound
from champion.services import Services


def test_a_token_is_stored_as_the_sha256_of_its_secret_only(services: Services) -> None:
    token, secret = services.tokens.create("ci", ["read", "predict"], actor="tests")
    assert token.scopes == {"read", "predict"} and secret.startswith("champ_")
    assert len(secret) > 40  # 256 random bits, url-safe
    with services.engine.connect() as conn:
        rows = [tuple(str(v) for v in row) for row in conn.execute(sa.select(api_tokens))]
        records = audit.list_audit(conn, target="ci")
    assert len(rows) == 1 and digest(secret) in rows[0]
    assert not any(secret in value for value in rows[0])
    assert [(r.action, r.details) for r in records] == [
        ("token.create", {"scopes": ["predict", "read"]})
    ]
    assert not any(secret in str(r) for r in records)


def test_creating_needs_known_scopes_and_a_fresh_name(services: Services) -> None:
    with pytest.raises(InvalidInput, match=r"Invalid scopes \['rea'\] for token 'x'"):
        services.tokens.create("x", ["rea"], actor="tests")
    with pytest.raises(InvalidInput, match="Invalid scopes"):
        services.tokens.create("x", [], actor="tests")
    with pytest.raises(InvalidInput, match=r"Invalid token name '\.\./x'"):
        services.tokens.create("../x", ["read"], actor="tests")
    services.tokens.create("x", ["read"], actor="tests")
    with pytest.raises(Conflict, match="A token named 'x' exists already"):
        services.tokens.create("x", ["admin"], actor="tests")
    assert services.tokens.list_tokens()[0].scopes == {"read"}


def test_the_keyring_finds_new_tokens_at_once_and_drops_revoked_ones(
    services: Services,
) -> None:
    keyring = Keyring(services.tokens)
    keyring.refresh()
    assert keyring.empty
    _, secret = services.tokens.create("app", ["predict"], actor="tests")
    assert keyring.find(secret) is None  # not in the snapshot yet...
    found = keyring.authenticate(secret)  # ...but a miss looks in the database
    assert found is not None and found.name == "app" and not keyring.empty
    assert keyring.authenticate(secret + "x") is None
    services.tokens.revoke("app", actor="tests", reason="leaked")
    keyring.refresh()
    assert keyring.authenticate(secret) is None and keyring.empty
    assert services.tokens.get("app").revoked_by == "tests"
    with pytest.raises(NotFound, match=r"Unknown token 'nope'\. Tokens: app\."):
        services.tokens.revoke("nope", actor="tests")


def test_binding_beyond_loopback_needs_a_token(services: Services) -> None:
    check_binding("127.0.0.1", services.tokens)
    check_binding("::1", services.tokens)
    with pytest.raises(InvalidInput, match=r"Refusing to bind '0\.0\.0\.0'"):
        check_binding("0.0.0.0", services.tokens)
    services.tokens.create("admin", ["admin"], actor="tests")
    check_binding("0.0.0.0", services.tokens)


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/v1/audit", "read"),
        ("HEAD", "/metrics", "read"),
        ("GET", "/", None),
        ("GET", "/static/plotly.min.js", None),
        ("GET", "/v2/health/ready", None),
        ("GET", "/v2/models/churn", "read"),
        ("POST", "/v1/endpoints/churn/predict", "predict"),
        ("POST", "/v2/models/churn/versions/2/infer", "predict"),
        ("POST", "/v1/feedback", "feedback"),
        ("PUT", "/v1/endpoints/churn", "admin"),
        ("DELETE", "/v1/models/churn/aliases/champion", "admin"),
        # Only the exact prediction paths are predictions: a look-alike needs admin.
        ("POST", "/v1/endpoints/churn/predict/extra", "admin"),
        ("POST", "/v1/endpoints/a/b/predict", "admin"),
        ("POST", "/v1/feedbacks", "admin"),
        ("POST", "/v1/health", "admin"),
        ("PATCH", "/v1/anything/new", "admin"),
    ],
)
def test_the_scope_a_call_needs(method: str, path: str, scope: str | None) -> None:
    assert required_scope(method, path) == scope
