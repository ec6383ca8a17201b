"""The init jobs: Helm hooks after install and upgrade, one per (channel, chaincode), bounded in time."""

from __future__ import annotations

from tests.deploy.chart import RELEASE, env, gateway_config, mounted_files, pod_spec, render, render_example

ORG1 = "distributed-org-1.yaml"


def test_init_job_runs_after_install_and_upgrade() -> None:
    for job in render_example(ORG1).of_kind("Job"):
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
        assert "helm.sh/hook-weight" in annotations


def test_one_init_job_per_channel_and_chaincode() -> None:
    jobs = render_example(ORG1).of_kind("Job")
    targets = sorted((env(job)["ORCHESTRATOR_CHANNEL"], env(job)["ORCHESTRATOR_CHAINCODE"]) for job in jobs)
    assert targets == [("mychannel", "mycc"), ("yourchannel", "yourcc")]
    assert sorted(job["metadata"]["name"] for job in jobs) == [
        f"{RELEASE}-init-mychannel-mycc",
        f"{RELEASE}-init-yourchannel-yourcc",
    ]


def test_a_chaincode_on_two_channels_is_initialized_on_each() -> None:
    channels = [
        {"name": "mychannel", "organizations": ["MyOrg1MSP"], "chaincodes": ["mycc"]},
        {"name": "yourchannel", "organizations": ["MyOrg1MSP"], "chaincodes": ["mycc", "yourcc"]},
    ]
    jobs = render_example(ORG1, {"channels": channels}).of_kind("Job")
    assert sorted((env(j)["ORCHESTRATOR_CHANNEL"], env(j)["ORCHESTRATOR_CHAINCODE"]) for j in jobs) == [
        ("mychannel", "mycc"),
        ("yourchannel", "mycc"),
        ("yourchannel", "yourcc"),
    ]


def test_init_job_has_a_backoff_limit_and_a_deadline_longer_than_its_timeout() -> None:
    for job in render_example(ORG1).of_kind("Job"):
        assert job["spec"]["backoffLimit"] == 3
        assert job["spec"]["activeDeadlineSeconds"] == 600
        assert int(env(job)["ORCHESTRATOR_INIT_TIMEOUT"]) == 540 < job["spec"]["activeDeadlineSeconds"]
        assert pod_spec(job)["restartPolicy"] == "Never"


def test_init_job_signs_as_the_organization_with_the_gateway_configuration() -> None:
    rendered = render_example(ORG1)
    config = gateway_config(rendered)
    organization = config["organizations"]["MyOrg1MSP"]
    for job in rendered.of_kind("Job"):
        variables = env(job)
        assert variables["ORCHESTRATOR_MSPID"] == "MyOrg1MSP"
        files = mounted_files(rendered, job)
        assert files[variables["ORCHESTRATOR_CONFIG"]] == ("ConfigMap", f"{RELEASE}-gateway", "config.yaml")
        assert files[organization["identity"]["certificate"]] == ("Secret", "hlf-msp-cert-user", "cert.pem")
        assert files[organization["identity"]["key"]] == ("Secret", "hlf-msp-key-user", "key.pem")
        assert files[organization["peers"][0]["tls_ca"]] == ("Secret", "hlf-cacert", "cacert.pem")
        assert not any(path.startswith("/etc/orchestrator/tls") for path in files)


def test_init_job_timings_follow_the_values() -> None:
    values = {"initJob": {"timeoutSeconds": 100, "backoffLimit": 1, "activeDeadlineSeconds": 200}}
    (job, _) = render_example(ORG1, values).of_kind("Job")
    assert env(job)["ORCHESTRATOR_INIT_TIMEOUT"] == "100"
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (1, 200)


def test_long_init_job_names_are_shortened_to_63_characters_and_stay_distinct() -> None:
    channel = "a-channel-with-a-rather-long-name-for-the-network"
    channels = [{"name": channel, "organizations": ["MyOrg1MSP"], "chaincodes": ["mycc", "yourcc"]}]
    names = [job["metadata"]["name"] for job in render_example(ORG1, {"channels": channels}).of_kind("Job")]
    assert len(names) == len(set(names)) == 2
    assert all(len(name) <= 63 and name[-1].isalnum() for name in names)


def test_channel_names_with_dots_become_valid_job_names() -> None:
    channels = [{"name": "my.channel", "organizations": ["MyOrg1MSP"], "chaincodes": ["mycc"]}]
    (job,) = render_example(ORG1, {"channels": channels}).of_kind("Job")
    assert job["metadata"]["name"] == f"{RELEASE}-init-my-channel-mycc"
    assert env(job)["ORCHESTRATOR_CHANNEL"] == "my.channel"


def test_no_init_job_in_embedded_mode_or_when_disabled() -> None:
    assert not render().of_kind("Job")
    assert not render_example(ORG1, {"initJob": {"enabled": False}}).of_kind("Job")
