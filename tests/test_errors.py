"""Messages and parsing of pytest_ontapjob.errors: each error must tell a person what to do."""

from __future__ import annotations

import pickle

import pytest

from pytest_ontapjob.errors import (
    AuthError,
    JobError,
    JobFailed,
    JobLost,
    JobNotFound,
    JobPausedTooLong,
    JobTimeout,
    OntapError,
    OntapJobError,
    ProtocolError,
    RetriesExhausted,
    TransientError,
    coerce_code,
    quote_body,
    redact_url,
)

UUID = "1cd8a442-86d1-11e0-ae1c-123478563412"
DUPLICATE = {"error": {"message": "duplicate entry", "code": "1", "target": "name"}}


def test_hierarchy_has_one_base() -> None:
    for cls in (OntapError, ProtocolError, JobError, TransientError, RetriesExhausted, JobNotFound):
        assert issubclass(cls, OntapJobError)
    assert issubclass(AuthError, OntapError)
    assert issubclass(JobFailed, JobError)
    assert issubclass(JobTimeout, JobError)
    assert issubclass(JobPausedTooLong, JobTimeout)
    assert issubclass(JobLost, JobError)


def test_from_response_parses_the_ontap_error_body() -> None:
    err = OntapError.from_response(409, DUPLICATE, "POST", "/api/storage/volumes")
    assert type(err) is OntapError
    assert (err.status, err.code, err.message, err.target) == (409, "1", "duplicate entry", "name")
    assert err.arguments == []
    assert err.body == DUPLICATE
    assert err.method == "POST"
    assert str(err) == (
        "HTTP 409 on POST /api/storage/volumes: duplicate entry (code 1, target name)"
    )


def test_from_response_parses_text_and_bytes_bodies() -> None:
    text = '{"error": {"message": "entry doesn\'t exist", "code": "4", "target": "uuid"}}'
    for body in (text, text.encode()):
        err = OntapError.from_response(404, body, "GET", "/api/cluster/jobs/x")
        assert (err.code, err.message, err.target) == ("4", "entry doesn't exist", "uuid")
        assert err.body == {
            "error": {"message": "entry doesn't exist", "code": "4", "target": "uuid"}
        }


def test_from_response_keeps_arguments_and_stringifies_codes() -> None:
    body = {
        "error": {"message": "bad", "code": 262179, "arguments": [{"code": "1", "message": "x"}]}
    }
    err = OntapError.from_response(400, body)
    assert err.code == "262179"
    assert err.arguments == [{"code": "1", "message": "x"}]
    assert str(err) == "HTTP 400: bad (code 262179)"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "<html>Bad Gateway</html>",
            "HTTP 502: Bad Gateway; the body has no ONTAP error object: <html>",
        ),
        ({"records": []}, 'HTTP 502: Bad Gateway; the body has no ONTAP error object: {"records"'),
        ({"error": "oops"}, "HTTP 502: Bad Gateway; the body has no ONTAP error object"),
        ("", "HTTP 502: Bad Gateway"),
        (None, "HTTP 502: Bad Gateway"),
    ],
)
def test_from_response_copes_without_an_error_object(body: object, expected: str) -> None:
    err = OntapError.from_response(502, body)
    assert str(err).startswith(expected)
    assert err.code is None
    assert err.target is None


def test_from_response_quotes_at_most_200_characters_of_a_strange_body() -> None:
    err = OntapError.from_response(500, "x" * 10_000)
    assert len(str(err)) < 300
    assert err.body == "x" * 10_000


def test_unknown_status_still_has_a_message() -> None:
    assert str(OntapError.from_response(599, "")) == "HTTP 599: HTTP error"


def test_url_never_carries_credentials() -> None:
    url = "https://admin:s3cret!@cluster.example:443/api/storage/volumes?return_timeout=5"
    err = OntapError.from_response(409, DUPLICATE, "POST", url)
    assert err.url == "https://cluster.example:443/api/storage/volumes?return_timeout=5"
    assert "s3cret" not in str(err)
    assert "s3cret" not in repr(err)
    assert str(err).startswith("HTTP 409 on POST /api/storage/volumes: ")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, None),
        ("/api/cluster", "/api/cluster"),
        ("http://h:8080/x", "http://h:8080/x"),
        ("http://u:p@h:8080/x?y=1", "http://h:8080/x?y=1"),
        ("http://u@h/x", "http://h/x"),
    ],
)
def test_redact_url(url: str | None, expected: str | None) -> None:
    assert redact_url(url) == expected


def test_401_is_an_auth_error_that_points_at_the_credentials() -> None:
    err = OntapError.from_response(401, "", "GET", "https://admin:Tr0ub4dor@h/api/cluster")
    assert isinstance(err, AuthError)
    assert "check the username and password" in str(err)
    assert "Tr0ub4dor" not in str(err)
    assert err.url == "https://h/api/cluster"


def test_403_is_an_auth_error_that_points_at_rbac() -> None:
    body = {"error": {"message": "not authorized for that command", "code": "6"}}
    err = OntapError.from_response(403, body, "GET", "/api/cluster/jobs/x")
    assert isinstance(err, AuthError)
    assert err.code == "6"
    assert str(err).startswith(
        "HTTP 403 on GET /api/cluster/jobs/x: not authorized for that command (code 6); "
    )
    assert "RBAC" in str(err)


def test_protocol_error_quotes_the_body_truncated() -> None:
    err = ProtocolError("the job record has no state", {"uuid": UUID})
    assert str(err) == f'the job record has no state; body: {{"uuid": "{UUID}"}}'
    long = ProtocolError("unparsable body", "y" * 2000)
    assert long.body == "y" * 2000
    assert "y" * 500 in str(long)
    assert "y" * 501 not in str(long)
    assert "(2000 characters)" in str(long)
    assert str(ProtocolError("a 202 without a job link")) == "a 202 without a job link"


def test_quote_body_handles_anything() -> None:
    assert quote_body(b"\xffabc") == "\ufffdabc"
    assert quote_body({"a": object()}).startswith('{"a": "<object object')
    assert quote_body(["é"]) == '["é"]'


FAILED = {
    "uuid": UUID,
    "description": "POST /api/storage/volumes",
    "state": "failure",
    "message": "There are not enough disks in Pool1.",
    "code": 460770,
}


def test_job_failed_reads_the_record() -> None:
    err = JobFailed(FAILED)
    assert err.job is FAILED
    assert err.message == "There are not enough disks in Pool1."
    assert err.code == 460770
    assert err.error is None
    assert err.description == "POST /api/storage/volumes"
    assert str(err) == (
        f"Job {UUID} (POST /api/storage/volumes) failed: There are not enough disks in Pool1. "
        "(code 460770)"
    )


def test_job_failed_shows_a_different_error_object() -> None:
    error = {"message": "Job completed with specified error", "code": "917536", "arguments": []}
    err = JobFailed({**FAILED, "error": error})
    assert err.error == error
    assert str(err).endswith("; error: Job completed with specified error (code 917536)")


def test_job_failed_falls_back_on_the_error_message_and_tolerates_odd_codes() -> None:
    err = JobFailed({"uuid": UUID, "state": "failure", "code": "4", "error": {"message": "gone"}})
    assert (err.message, err.code, err.description) == ("gone", 4, None)
    assert str(err) == f"Job {UUID} failed: gone (code 4)"
    odd = JobFailed({"state": "failure", "code": "n/a"}, job_id="abc")
    assert (odd.message, odd.code) == ("(no message)", None)
    assert str(odd) == "Job abc failed: (no message)"


def test_job_timeout_says_what_was_last_seen_and_the_deadline() -> None:
    job = {
        "uuid": UUID,
        "description": "DELETE /api/svm/svms/x",
        "state": "running",
        "message": "Deleting",
        "code": 0,
    }
    err = JobTimeout(job, 60, 60.04, polls=7)
    assert (err.job, err.timeout, err.elapsed, err.polls) == (job, 60, 60.04, 7)
    assert str(err) == (
        f"Job {UUID} (DELETE /api/svm/svms/x) did not finish within the 60 s timeout "
        "(waited 60.0 s, 7 polls); last seen running: Deleting"
    )
    none = JobTimeout(None, 5, 5.0, detail="more", job_id="abc")
    assert str(none) == (
        "Job abc did not finish within the 5 s timeout (waited 5.0 s); no job record was read; more"
    )


def test_job_paused_too_long_is_a_timeout_that_says_how_to_resume() -> None:
    job = {"uuid": UUID, "state": "paused", "message": "Paused by admin", "code": 2432844}
    err = JobPausedTooLong(job, 10, 12.5, 40.0, polls=9)
    assert isinstance(err, JobTimeout)
    assert (err.timeout, err.max_paused, err.paused, err.elapsed, err.polls) == (
        10,
        10,
        12.5,
        40,
        9,
    )
    assert "stayed paused for 12.5 s, more than max_paused=10 s" in str(err)
    assert "last seen paused: Paused by admin (code 2432844)" in str(err)
    assert f"PATCH /api/cluster/jobs/{UUID}?action=resume" in str(err)


def test_job_lost_messages() -> None:
    job = {"uuid": UUID, "state": "running", "message": "Creating"}
    seen = JobLost(job)
    assert seen.job is job
    assert str(seen).startswith(f"Job {UUID} vanished (HTTP 404) after it was last seen running")
    assert "purged" in str(seen)
    never = JobLost(None, job_id="abc", not_found_for=10.0)
    assert never.job is None
    assert never.not_found_for == 10.0
    assert str(never).startswith("Job abc never appeared: its GET answered HTTP 404 for 10.0 s")


def test_transient_and_retries_exhausted() -> None:
    last = TransientError("connection reset", status=503, retry_after=2)
    assert (last.cause, last.status, last.retry_after) == ("connection reset", 503, 2)
    assert str(last) == "connection reset (HTTP 503, Retry-After 2 s)"
    assert str(TransientError("read timed out")) == "read timed out"
    err = RetriesExhausted(last, attempts=6, job={"uuid": UUID, "state": "queued"})
    assert err.last_error is last
    assert err.attempts == 6
    assert err.job == {"uuid": UUID, "state": "queued"}
    assert str(err) == (
        f"Gave up polling Job {UUID} after 6 consecutive transient errors; last seen queued; "
        "last error: connection reset (HTTP 503, Retry-After 2 s)"
    )


def test_job_not_found() -> None:
    assert str(JobNotFound()) == "Job not found (HTTP 404)"
    err = JobNotFound(UUID, "entry doesn't exist")
    assert err.job_id == UUID
    assert str(err) == f"Job {UUID} not found (HTTP 404): entry doesn't exist"


@pytest.mark.parametrize(
    "exc",
    [
        OntapError.from_response(409, DUPLICATE, "POST", "/api/storage/volumes"),
        OntapError.from_response(401, ""),
        ProtocolError("no state", {"a": 1}),
        JobFailed(FAILED),
        JobTimeout(None, 1, 1.5, polls=1),
        JobPausedTooLong({"state": "paused"}, 1, 2, 3),
        JobLost(None, not_found_for=1),
        TransientError("x", status=500),
        RetriesExhausted(TransientError("x"), attempts=1),
        JobNotFound("u"),
    ],
)
def test_exceptions_pickle(exc: OntapJobError) -> None:
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert str(copy) == str(exc)
    assert repr(copy.__dict__) == repr(exc.__dict__)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (460770, 460770),
        (0, 0),
        ("460770", 460770),
        (" 4 ", 4),
        (4.0, 4),
        (4.5, None),
        (float("nan"), None),
        (True, None),
        ("n/a", None),
        (None, None),
        ([4], None),
    ],
)
def test_coerce_code(code: object, expected: int | None) -> None:
    assert coerce_code(code) == expected


def test_an_empty_ontap_message_stays_empty_but_the_text_names_the_status() -> None:
    from pytest_ontapjob.errors import OntapError

    error = OntapError.from_response(400, {"error": {"message": "", "code": "460770"}})
    assert error.message == ""
    assert "Bad Request" in str(error) and "460770" in str(error)
