"""Volume provisioning, tested against the ONTAP simulator (or a live cluster: --ontap-url)."""

import pytest

from pytest_ontapjob import JobFailed

VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}


def test_create_volume(ontap_client):
    result = ontap_client.post("/api/storage/volumes", json=VOLUME)

    assert result.state == "success"
    volumes = ontap_client.get("/api/storage/volumes", params={"name": "v1"})
    assert volumes["num_records"] == 1
    ontap_client.delete(f"/api/storage/volumes/{volumes['records'][0]['uuid']}")


def test_failed_job_reports_message_and_code(ontap_client, ontap_sim):
    ontap_sim.script(
        "POST",
        "/api/storage/volumes",
        [
            {"state": "running", "seconds": 20},
            {"state": "paused", "seconds": 600, "message": "Waiting for aggregate space."},
            {"state": "failure", "message": "Insufficient space in aggr1.", "code": 917536},
        ],
    )

    with pytest.raises(JobFailed) as failed:
        ontap_client.post("/api/storage/volumes", json=VOLUME)

    assert failed.value.message == "Insufficient space in aggr1."
    assert failed.value.code == 917536
    assert ontap_client.get("/api/storage/volumes", params={"name": "v1"})["num_records"] == 0
