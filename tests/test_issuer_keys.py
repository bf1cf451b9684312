"""The issuer's identity (issue 12, point 1): its Ed25519 keys, kept owner-only in the
instance folder, made once however many workers start at once, rotated without
forgetting; its Profile and public keys published for anyone; its private keys served
by no route at all."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask

from apprentice import create_app
from apprentice.config import ConfigError
from apprentice.credentials import issuer, keys, permissions
from tests.workers import run_workers

JWK_MEMBERS = {"kid", "kty", "crv", "x", "use", "alg"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def private_d(key: keys.IssuerKey) -> str:
    """The private part as a JWK would write it ("d"): what must never be served."""
    return keys.b64url(key.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption()))


# -- keys --------------------------------------------------------------------------------

def test_first_use_makes_one_key_kept_owner_only(app):
    with app.app_context():
        folder = keys.key_folder()
        assert not folder.exists()
        key = keys.current_key()
        again = keys.current_key()
    assert again.kid == key.kid
    assert again.public_jwk == key.public_jwk
    assert mode(folder) == 0o700
    pem = folder / f"{key.kid}.pem"
    assert pem.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8
    for path in (pem, folder / f"{key.kid}.json", folder / "current"):
        assert mode(path) == 0o600, path
    assert sorted(p.name for p in folder.glob("*.pem")) == [f"{key.kid}.pem"]
    # The kid is the RFC 7638 thumbprint of the public key, so anyone can check it.
    assert key.kid == keys.thumbprint(key.public_jwk["x"]) and len(key.kid) == 43
    assert "private_key" not in repr(key)


def test_the_kid_is_the_rfc_7638_thumbprint():
    """RFC 8037, appendix A.3: the Ed25519 example key's thumbprint."""
    assert keys.thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo") \
        == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_the_published_key_verifies_what_the_current_key_signs(app):
    with app.app_context():
        key = keys.current_key()
        signature = key.sign(b"a credential")
        published = keys.public_key(key.kid)
    keys.ed25519_public_key(published.public_jwk).verify(signature, b"a credential")
    with pytest.raises(ValueError, match="private key"):
        keys.ed25519_public_key({**published.public_jwk, "d": private_d(key)})


def _first_key(_own_instance, shared_instance, barrier):
    """A gunicorn worker's first request: its app asks for the signing key."""
    app = Flask("worker")
    app.config["APPRENTICE_INSTANCE_PATH"] = shared_instance
    barrier.wait()
    with app.app_context():
        return keys.current_key().kid


def test_workers_starting_at_once_end_up_with_one_key(tmp_path):
    shared = tmp_path / "instance"
    kids = run_workers(_first_key, tmp_path, [(str(shared),)] * 4)
    assert len(set(kids)) == 1
    folder = shared / keys.KEY_FOLDER
    assert [p.stem for p in folder.glob("*.pem")] == kids[:1]
    assert [p.stem for p in folder.glob("*.json")] == kids[:1]
    assert (folder / "current").read_text() == kids[0]


def test_rotating_keeps_the_old_key_published_and_retired(app):
    with app.app_context():
        old = keys.current_key()
        new = keys.rotate()
        assert new.kid != old.kid
        assert keys.current_key().kid == new.kid
        published = keys.public_keys()
        assert [key.kid for key in published] == [old.kid, new.kid]
        assert published[0].retired_at is not None and not published[0].current
        assert published[1].retired_at is None and published[1].current
        assert keys.public_key(old.kid).retired_at == published[0].retired_at
        assert keys.public_key("../../secret_key") is None
    client = app.test_client()
    assert {jwk["kid"] for jwk in client.get("/issuer/keys").get_json()["keys"]} == {
        old.kid, new.kid}
    assert client.get(f"/issuer/keys/{old.kid}").get_json()["kid"] == old.kid


# -- the public documents ----------------------------------------------------------------

def test_the_key_set_and_each_key_hold_public_members_only(app):
    with app.app_context():
        made = [keys.current_key(), keys.rotate(), keys.rotate()]
    client = app.test_client()  # nobody signed in
    response = client.get("/issuer/keys")
    assert response.status_code == 200 and response.mimetype == "application/json"
    served = [response.get_data(as_text=True)]
    key_set = response.get_json()
    assert set(key_set) == {"keys"}
    assert [jwk["kid"] for jwk in key_set["keys"]] == [key.kid for key in made]
    for key in made:
        one = client.get(f"/issuer/keys/{key.kid}")
        assert one.status_code == 200
        served.append(one.get_data(as_text=True))
        for jwk in (one.get_json(), *[j for j in key_set["keys"] if j["kid"] == key.kid]):
            assert set(jwk) == JWK_MEMBERS and "d" not in jwk
            assert jwk == {"kid": key.kid, "kty": "OKP", "crv": "Ed25519",
                           "x": key.public_jwk["x"], "use": "sig", "alg": "EdDSA"}
    for text in served:
        assert all(private_d(key) not in text for key in made)
        assert "PRIVATE" not in text


def test_an_unknown_key_id_is_a_json_404(app):
    response = app.test_client().get("/issuer/keys/" + "A" * 43)
    assert response.status_code == 404
    assert response.get_json()["error"] == "No key of this issuer has that id."


@pytest.mark.parametrize("kid", [
    pytest.param("A" * 42, id="too-short"),
    pytest.param("A" * 44, id="too-long"),
    pytest.param("current", id="pointer-file"),
    pytest.param(".lock", id="lock-file"),
    pytest.param("A" * 39 + ".pem", id="a-file-name"),
])
def test_a_key_id_of_another_shape_matches_no_route(app, kid):
    with app.app_context():
        keys.current_key()
    response = app.test_client().get(f"/issuer/keys/{kid}")
    assert response.status_code == 404
    assert b"PRIVATE" not in response.data


def test_the_public_documents_may_be_cached_and_read_from_anywhere(app):
    client = app.test_client()
    with app.app_context():
        kid = keys.current_key().kid
    for url in ("/issuer", "/issuer/keys", f"/issuer/keys/{kid}"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "public, max-age=300", url
        assert response.headers["Access-Control-Allow-Origin"] == "*", url


def test_no_route_serves_a_private_key(app, as_coordinator):
    """Every GET route without parameters, signed in and not, and the paths someone would
    try to reach the instance folder: no private key, in PEM or as a JWK's "d"."""
    with app.app_context():
        key = keys.current_key()
        folder = keys.key_folder()
    pem = (folder / f"{key.kid}.pem").read_text()
    secrets_ = [text.encode() for text in (private_d(key), pem.splitlines()[1],
                                           "PRIVATE KEY")]
    tried = [
        f"/instance/{keys.KEY_FOLDER}/{key.kid}.pem", f"/{keys.KEY_FOLDER}/{key.kid}.pem",
        f"/{keys.KEY_FOLDER}/current", f"/issuer/keys/{key.kid}.pem",
        f"/issuer/keys/{key.kid}/../{key.kid}.pem", "/issuer/keys/../..",
        f"/issuer/keys/..%2F..%2F{keys.KEY_FOLDER}%2F{key.kid}.pem",
        f"/issuer/keys/%2E%2E/%2E%2E/{keys.KEY_FOLDER}/{key.kid}.pem",
        f"/assets/../{keys.KEY_FOLDER}/{key.kid}.pem",
        f"/assets/..%2F..%2F..%2F{keys.KEY_FOLDER}%2F{key.kid}.pem",
        f"/assets/{folder}/{key.kid}.pem", f"/{folder}/{key.kid}.pem",
        f"/issuer/keys/{key.kid}.json",
    ]
    tried += [rule.rule for rule in app.url_map.iter_rules()
              if "GET" in rule.methods and not rule.arguments]
    anonymous = app.test_client()
    for url in tried:
        for client in (anonymous, as_coordinator):
            with client.get(url) as response:
                body = response.get_data()  # an icon or a PDF is bytes
            assert not any(secret in body for secret in secrets_), url
    assert anonymous.get(f"/issuer/keys/{key.kid}.pem").status_code == 404


def test_the_profile_has_the_open_badges_fields(app):
    app.config.update(APPRENTICE_ISSUER_NAME="Riverside Libraries",
                      APPRENTICE_ISSUER_URL="https://riverside.library.example/",
                      APPRENTICE_ISSUER_EMAIL="badges@riverside.library.example")
    response = app.test_client().get("/issuer")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "http://localhost/issuer",
        "type": "Profile",
        "name": "Riverside Libraries",
        "url": "https://riverside.library.example/",
        "email": "badges@riverside.library.example",
    }
    with app.test_request_context():
        assert issuer.issuer_reference()["id"] == issuer.profile_url()
        assert issuer.key_url("A" * 43) == "http://localhost/issuer/keys/" + "A" * 43


def test_the_profile_defaults_to_the_site_name_and_the_apps_address(app):
    app.config["APPRENTICE_SITE_NAME"] = "Northfield Library training"
    profile = app.test_client().get("/issuer").get_json()
    assert profile["name"] == "Northfield Library training"
    assert profile["url"] == "http://localhost/"
    assert "email" not in profile


@pytest.mark.parametrize(("key", "value", "message"), [
    ("APPRENTICE_ISSUER_EMAIL", "badges at library", "must be an e-mail address"),
    ("APPRENTICE_ISSUER_EMAIL", "badges@", "must be an e-mail address"),
    ("APPRENTICE_ISSUER_URL", "library.example", "must be an http:// or https:// address"),
    ("APPRENTICE_ISSUER_URL", "javascript:alert(1)", "must be an http:// or https://"),
    ("APPRENTICE_ISSUER_URL", "ftp://library.example/", "must be an http:// or https://"),
    ("APPRENTICE_ISSUER_URL", "https://", "must be an http:// or https://"),
    ("APPRENTICE_ISSUER_URL", "https://me:pw@library.example/", "must be an http://"),
    ("APPRENTICE_ISSUER_URL", "https://library.example:port/", "must be an http://"),
    ("APPRENTICE_ISSUER_NAME", "Two\nlines", "must be a name on one line"),
])
def test_a_bad_issuer_setting_stops_the_start(tmp_path, key, value, message):
    with pytest.raises(ConfigError) as refused:
        create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", key: value})
    assert key in str(refused.value) and message in str(refused.value)


def test_good_issuer_settings_are_kept(tmp_path):
    app = create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                      "APPRENTICE_ISSUER_EMAIL": " Badges@Library.example ",
                      "APPRENTICE_ISSUER_URL": "https://library.example/training/",
                      "APPRENTICE_ISSUER_NAME": "Riverside Libraries"})
    assert app.config["APPRENTICE_ISSUER_EMAIL"] == "Badges@library.example"
    assert app.config["APPRENTICE_ISSUER_URL"] == "https://library.example/training/"


# -- did:web -----------------------------------------------------------------------------

def test_a_real_https_domain_gets_a_did_web_document(app):
    app.config["APPRENTICE_ISSUER_URL"] = "https://library.example/"
    with app.app_context():
        old = keys.current_key()
        new = keys.rotate()
    response = app.test_client().get("/.well-known/did.json",
                                     base_url="https://library.example")
    assert response.status_code == 200
    document = response.get_json()
    assert document["id"] == "did:web:library.example"
    methods = document["verificationMethod"]
    assert [m["id"] for m in methods] == [f"did:web:library.example#{k.kid}"
                                          for k in (old, new)]
    assert all(m["type"] == "JsonWebKey2020" and m["controller"] == document["id"]
               and set(m["publicKeyJwk"]) == JWK_MEMBERS for m in methods)
    assert document["assertionMethod"] == [m["id"] for m in methods]


@pytest.mark.parametrize(("issuer_url", "base_url"), [
    pytest.param(None, "https://library.example", id="no-issuer-url"),
    pytest.param("http://library.example/", "http://library.example", id="not-https"),
    pytest.param("https://localhost/", "https://localhost", id="localhost"),
    pytest.param("https://10.0.0.5/", "https://10.0.0.5", id="an-address"),
    pytest.param("https://library.example/", "https://elsewhere.example", id="other-host"),
])
def test_no_did_web_document_where_it_could_not_resolve(app, issuer_url, base_url):
    app.config["APPRENTICE_ISSUER_URL"] = issuer_url
    response = app.test_client().get("/.well-known/did.json", base_url=base_url)
    assert response.status_code == 404


# -- who may do what, and the command line -----------------------------------------------

def test_anyone_reads_the_issuer_and_nobody_downloads_a_private_key(app, coordinator):
    for viewer in (None, coordinator):
        assert permissions.may_read_issuer(viewer)
        assert not permissions.may_download_private_key(viewer)
    assert app.test_client().get("/issuer").status_code == 200  # not sent to sign in


def test_the_command_line_lists_and_rotates_keys(app):
    runner = app.test_cli_runner()
    none_yet = runner.invoke(args=["apprentice", "keys", "list"])
    assert none_yet.exit_code == 0 and none_yet.output.startswith("No signing key yet")
    with app.app_context():
        first = keys.current_key()
    listed = runner.invoke(args=["apprentice", "keys", "list"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("\n") == 1
    assert first.kid in listed.output and "current" in listed.output
    rotated = runner.invoke(args=["apprentice", "keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    with app.app_context():
        second = keys.current_key()
    assert second.kid != first.kid
    assert f"New signing key {second.kid}. Retired, still published: {first.kid}." \
        in rotated.output
    listed = runner.invoke(args=["apprentice", "keys", "list"]).output.splitlines()
    assert [line.split()[0] for line in listed] == [first.kid, second.kid]
    assert "retired" in listed[0] and listed[1].endswith("current")
    for output in (rotated.output, *listed):
        assert "PRIVATE" not in output and private_d(first) not in output


def test_the_key_files_hold_what_the_public_pages_read(app):
    """The public half kept beside each private key is the one the PEM gives."""
    with app.app_context():
        key = keys.current_key()
        meta = json.loads((keys.key_folder() / f"{key.kid}.json").read_text())
    assert meta["public_jwk"] == keys.public_jwk_of(key.private_key.public_key())
    assert "d" not in meta["public_jwk"]


def test_reading_the_keys_makes_none(app, tmp_path):
    """Only signing makes the first key: the public pages, `keys list` and a verifier run
    as another user (root, say) leave no key file the web server could not read."""
    folder = keys.key_folder(app)
    anonymous = app.test_client()
    assert anonymous.get("/issuer/keys").get_json() == {"keys": []}
    assert anonymous.get("/issuer/keys/" + "A" * keys.KID_LENGTH).status_code == 404
    token = tmp_path / "credential.jwt"
    token.write_text("not.a.token", encoding="ascii")
    app.test_cli_runner().invoke(args=["apprentice", "verify-credential", str(token),
                                       "--offline"])
    app.test_cli_runner().invoke(args=["apprentice", "keys", "list"])
    assert not folder.exists()
    with app.app_context():
        made = keys.current_key()
    assert [key["kid"] for key in anonymous.get("/issuer/keys").get_json()["keys"]] == \
        [made.kid]


# -- several app servers (issue 13) --------------------------------------------------------

def test_servers_sharing_a_key_folder_sign_as_one_issuer(two_servers, tmp_path):
    """Two servers with their own instance folders and APPRENTICE_CREDENTIAL_KEYS_DIR:
    the key the first makes signs on the second, a rotation on the second signs on the
    first, and both publish the same key set; no key lands in either instance folder."""
    server_a, server_b = two_servers
    with server_a.app_context():
        first = keys.current_key()
    with server_b.app_context():
        assert keys.key_folder() == tmp_path / "shared-keys"
        signature = keys.current_key().sign(b"a credential")
        rotated = keys.rotate()
    keys.ed25519_public_key(first.public_jwk).verify(signature, b"a credential")
    with server_a.app_context():
        assert keys.current_key().kid == rotated.kid
    key_sets = [server.test_client().get("/issuer/keys").get_json() for server in two_servers]
    assert key_sets[0] == key_sets[1]
    assert [jwk["kid"] for jwk in key_sets[0]["keys"]] == [first.kid, rotated.kid]
    for server in two_servers:
        assert not (Path(server.instance_path) / keys.KEY_FOLDER).exists()


def test_without_the_setting_each_instance_keeps_its_own_keys(app):
    with app.app_context():
        assert keys.key_folder() == Path(app.instance_path) / keys.KEY_FOLDER


@pytest.mark.parametrize("value", [
    pytest.param("keys", id="relative"),
    pytest.param("./instance/keys", id="dot-relative"),
])
def test_the_key_folder_must_be_an_absolute_path(tmp_path, value):
    """A relative folder would differ between gunicorn's working directory and a
    command's, so the two would sign with different keys."""
    with pytest.raises(ConfigError, match="APPRENTICE_CREDENTIAL_KEYS_DIR must be an "
                                          "absolute path"):
        create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                    "APPRENTICE_CREDENTIAL_KEYS_DIR": value})
