"""The issuer's public documents: its Profile, its public keys (a JWK Set, and each JWK
at its own URL), a did:web document where the installation has a real domain, and its
status lists; and the coordinators' Credentials page of each apprentice (issue, revoke).

Public (no sign-in: a verifier elsewhere has no account here), read-only, and built
from the keys' public halves only (``keys.public_keys``): no page reads a private key.
They may be cached for a few minutes and read by a wallet's script on another site; a
rotation shows within :data:`MAX_AGE` seconds, and old keys never disappear.
"""

from __future__ import annotations

import ipaddress
import json
from contextlib import suppress
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from apprentice.auth.access import public, requires
from apprentice.auth.services import current_staff
from apprentice.core import downloads, receipts
from apprentice.core.answers import answers_json
from apprentice.credentials import handover, issuer, keys, permissions, verify
from apprentice.credentials import services as credential_services
from apprentice.credentials.forms import PROGRAMME, IssueForm, RevokeForm, VerifyForm
from apprentice.forms import ID, act, already_saved, flash_invalid, once, saved_record
from apprentice.people import services as people
from apprentice.validation import Invalid

bp = Blueprint("credentials", __name__)

MAX_AGE = 300
# A revocation shows within this many seconds: verifiers may cache the list this long.
STATUS_MAX_AGE = 60
# JWK members a verifier needs; "d" (the private part) is never among them.
PUBLISHED_MEMBERS = ("kid", "kty", "crv", "x", "use", "alg")


def _document(body: dict, mimetype: str = "application/json"):
    """A public JSON document: cacheable for a short while (the app's ``no-store`` is for
    records, and there are none here), and readable from any origin."""
    response = current_app.response_class(json.dumps(body, indent=2) + "\n",
                                          mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def published_jwk(key: keys.PublicKey) -> dict:
    """One key as published: only the public members, whatever the key file holds."""
    return {member: key.public_jwk[member] for member in PUBLISHED_MEMBERS}


@bp.route("/issuer", endpoint="issuer")
@public
@answers_json
@requires(permissions.may_read_issuer)
def issuer_profile():
    """The Open Badges 3.0 Profile of this installation (the ``issuer`` of its badges)."""
    return _document(issuer.profile())


@bp.route("/issuer/keys")
@public
@answers_json
@requires(permissions.may_read_issuer)
def key_set():
    """Every public key ever used, current and retired, as a JWK Set (RFC 7517)."""
    return _document({"keys": [published_jwk(key) for key in keys.public_keys()]})


@bp.route(f"/issuer/keys/<string(length={keys.KID_LENGTH}):kid>")
@public
@answers_json
@requires(permissions.may_read_issuer)
def key(kid: str):
    """One public key as a JWK: where a credential's ``kid`` points its verifier."""
    found = keys.public_key(kid)
    if found is None:
        abort(404, "No key of this issuer has that id.")
    return _document(published_jwk(found))


def did_web_host() -> str | None:
    """The domain of a ``did:web`` identifier, when this installation may claim one:
    APPRENTICE_ISSUER_URL is https on a real domain (not an address, not localhost),
    this request reached that domain, and apprentice is mounted at its root (where
    ``did:web:<domain>`` resolves, ``/.well-known/did.json``)."""
    configured = current_app.config.get("APPRENTICE_ISSUER_URL")
    if not configured:
        return None
    parts = urlsplit(configured)
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() != "https" or "." not in host or host.endswith(".localhost"):
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    domain = host if parts.port in (None, 443) else f"{host}:{parts.port}"
    served_at = urlsplit(request.host_url)
    if (served_at.netloc.lower() != domain or request.script_root
            or current_app.extensions["apprentice"].url_prefix):
        return None
    return domain


@bp.route("/.well-known/did.json")
@public
@answers_json
@requires(permissions.may_read_issuer)
def did_document():
    """The installation's ``did:web`` document: every public key (retired ones too, so
    old credentials verify) as a JsonWebKey2020 verification method."""
    domain = did_web_host()
    if domain is None:
        abort(404, "This installation publishes no did:web document (README: Issuer keys).")
    did = "did:web:" + domain.replace(":", "%3A")
    methods = [{"id": f"{did}#{key.kid}", "type": "JsonWebKey2020", "controller": did,
                "publicKeyJwk": published_jwk(key)} for key in keys.public_keys()]
    ids = [method["id"] for method in methods]
    return _document({
        "@context": ["https://www.w3.org/ns/did/v1",
                     "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did, "verificationMethod": methods,
        "assertionMethod": ids,
    })


# -- handing a credential over (handover.py): its holder's files -------------------------

def _downloadable(credential_uuid):
    """The credential if the viewer may download it; the plain 404 of a missing page
    otherwise, so nobody learns which credentials exist. A revoked one still downloads:
    it is what was handed over, and its status list says it was revoked."""
    found = credential_services.get_credential(f"urn:uuid:{credential_uuid}")
    if found is None or not permissions.may_download_credential(current_staff(), found):
        abort(404)
    return found


@bp.route("/credentials/<uuid:credential_uuid>.jwt", endpoint="download_jwt")
@requires(permissions.may_open_credential_files)
def download_jwt(credential_uuid):
    """The VC-JWT exactly as signed and stored."""
    credential = _downloadable(credential_uuid)
    return downloads.attachment(credential.token, handover.filename(credential, "jwt"),
                                handover.JWT_MEDIA_TYPE)


@bp.route("/credentials/<uuid:credential_uuid>.json", endpoint="download_json")
@requires(permissions.may_open_credential_files)
def download_json(credential_uuid):
    """The same token, wrapped as a VC 2.0 EnvelopedVerifiableCredential."""
    credential = _downloadable(credential_uuid)
    return downloads.attachment(handover.json_file(credential),
                                handover.filename(credential, "json"),
                                handover.JSON_MEDIA_TYPE)


@bp.route(f"/issuer/status/<{ID}:list_number>")
@public
@requires(permissions.may_read_status_list)
def status_list(list_number: int):
    """Status list ``list_number`` as a VC-JWT (a BitstringStatusListCredential): a set
    bit is a revoked credential. Bits only: nothing in it says whose each one is. An
    unused list number: 404."""
    token = credential_services.status_list_token(list_number)
    if token is None:
        abort(404, "This issuer has no status list with that number.")
    response = current_app.response_class(token, mimetype="application/vc+jwt")
    response.headers["Cache-Control"] = f"public, max-age={STATUS_MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# -- an apprentice's credentials, for coordinators -----------------------------------------

def _credentials_url(credential_id: int) -> str | None:
    credential = credential_services.get_credential(credential_id)
    return None if credential is None else url_for(
        "apprentice.credentials.person_credentials", person_id=credential.person_id)


saved_record("credential", "See the credentials", url=_credentials_url)


def _person(person_id: int):
    person = people.get_person(person_id)
    if person is None:
        abort(404)
    return person


def _page(person, issue_form: IssueForm, revoke_forms: dict | None = None):
    staff = current_staff()
    credentials = credential_services.credentials_of(person.id)
    forms = {c.id: RevokeForm(prefix=f"c{c.id}", formdata=None) for c in credentials}
    forms.update(revoke_forms or {})
    return render_template(
        "apprentice/credentials/person.html", person=person,
        awards=credential_services.awards_for(person), credentials=credentials,
        issue_form=issue_form, revoke_forms=forms, programme=PROGRAMME,
        may_issue=permissions.may_issue_credential(staff, person.id),
        may_revoke={c.id: permissions.may_revoke_credential(staff, c) for c in credentials})


@bp.route(f"/apprentices/<{ID}:person_id>/credentials")
@requires(permissions.may_manage_credentials)
def person_credentials(person_id: int):
    """What the apprentice may be issued now (complete areas and programmes), and the
    credentials issued to them, each with its state and a way to revoke it."""
    person = _person(person_id)
    form = IssueForm()
    answer = once(form, current_staff())
    return answer if answer is not None else _page(person, form)


@bp.route(f"/apprentices/<{ID}:person_id>/credentials/issue", methods=["POST"])
@requires(permissions.may_manage_credentials)
def issue(person_id: int):
    """Issue the credential one button names; refusals (not complete, held already) are
    said at the top of the page. The same form sent twice: issued once."""
    person = _person(person_id)
    staff = current_staff()
    if not permissions.may_issue_credential(staff, person.id):
        abort(403)
    form = IssueForm()
    answer = once(form, staff)
    if answer is not None:
        return answer
    achievement = form.achievement()
    if not form.validate_on_submit() or achievement is None:
        flash_invalid(Invalid({None: "That is not an achievement on this page: choose one "
                                     "of its Issue credential buttons."}))
    else:
        try:
            act(lambda: credential_services.issue(person, *achievement, by=staff,
                                                  form_token=form.form_token.data),
                lambda issued: f"Issued: {issued.name}, credential {issued.credential_id}.")
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
    return redirect(url_for("apprentice.credentials.person_credentials", person_id=person_id))


@bp.route(f"/apprentices/<{ID}:person_id>/credentials/<{ID}:credential_id>/revoke",
          methods=["POST"])
@requires(permissions.may_manage_credentials)
def revoke(person_id: int, credential_id: int):
    """Revoke one credential with a reason; without one, the page again with the
    message next to that credential's box. Another person's credential, or none: 404."""
    person = _person(person_id)
    credential = credential_services.get_credential(credential_id)
    if credential is None or credential.person_id != person.id:
        abort(404)
    staff = current_staff()
    if not permissions.may_revoke_credential(staff, credential):
        abort(403)
    form = RevokeForm(prefix=f"c{credential.id}")
    if form.validate_on_submit():
        try:
            credential_services.revoke(credential, staff, form.reason.data)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash(f"Revoked: {credential.name}. The status list shows it revoked "
                  "from now on.", "success")
            return redirect(url_for("apprentice.credentials.person_credentials",
                                    person_id=person_id))
    issue_form = IssueForm()
    issue_form.form_token.data = receipts.new_token()
    return _page(person, issue_form, {credential.id: form})


# -- verifying a credential, for anyone (verify.py) -------------------------------------

# One request to /verify may carry a pasted and an uploaded credential (1 MB each, the
# verifier's limit) and the form around them; a larger body is refused unread.
VERIFY_REQUEST_LIMIT = 2 * verify.MAX_INPUT_BYTES + 64 * 1024


def _too_large_message(size: int) -> str:
    return (f"That upload is {size / (1024 * 1024):.1f} MB: a credential file is at most "
            f"1 MB (usually a few KB). Choose the .json or .jwt file of the credential.")


@bp.url_value_preprocessor
def _cap_verify_upload(endpoint: str | None, _values) -> None:
    """Refuse an oversized /verify upload before anything reads it (this runs before the
    CSRF check, which reads the form): the page again, the message by the file field."""
    if endpoint != "apprentice.credentials.verify" or request.method != "POST":
        return
    with suppress(AttributeError):  # Flask 3.0: read-only; the length check below holds
        request.max_content_length = VERIFY_REQUEST_LIMIT
    if (request.content_length or 0) > VERIFY_REQUEST_LIMIT:
        form = VerifyForm(formdata=None)
        form.file.errors = [_too_large_message(request.content_length)]
        abort(make_response(_verify_page(form, None), 413))


@bp.route("/verify", methods=["GET", "POST"], endpoint="verify")
@public
@requires(permissions.may_verify_credential)
def verify_page():
    """Check a credential pasted or uploaded, and show what each check found. May fetch
    another installation's published key and status list (fetch.py's guard)."""
    form = VerifyForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        data = None
        if upload and getattr(upload, "filename", ""):
            data = upload.stream.read(verify.MAX_INPUT_BYTES + 1)
            if len(data) > verify.MAX_INPUT_BYTES:
                form.file.errors = ["That file is larger than 1 MB: a credential file is a "
                                    "few KB. Choose the .json or .jwt file of the credential."]
                data = None
            elif not data.strip():
                form.file.errors = ["That file is empty: choose the credential's file."]
                data = None
        elif (form.credential.data or "").strip():
            data = form.credential.data
            if len(data.encode("utf-8", "surrogatepass")) > verify.MAX_INPUT_BYTES:
                form.credential.errors = ["That is larger than 1 MB: a credential is a few "
                                          "KB. Paste only the credential."]
                data = None
        else:
            form.credential.errors = ["Paste a credential here, or choose its file below."]
        if data is not None:
            report = verify.verify_credential(data, online=True)
    return _verify_page(form, report)


def _verify_page(form: VerifyForm, report: verify.Report | None):
    return render_template("apprentice/credentials/verify.html", form=form, report=report,
                           labels=verify.LABELS, reason=verify.reason)
