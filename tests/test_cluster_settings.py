"""`make cluster`'s settings and the files it writes, without starting anything."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from bot.server import cluster
from bot.server.cluster import ClusterError, ClusterSettings


def test_defaults_are_the_local_services_and_port_8080() -> None:
    settings = ClusterSettings.from_env({})
    assert (settings.replicas, settings.host, settings.port) == (2, "127.0.0.1", 8080)
    assert settings.database_url == "postgresql://127.0.0.1:5432/spine_faq"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.replica_ports() == [5010, 5011]


@pytest.mark.parametrize(
    "env, message",
    [
        ({"RASA_REPLICAS": "two"}, "RASA_REPLICAS must be a whole number"),
        ({"RASA_REPLICAS": "0"}, "RASA_REPLICAS must be between 1 and 16"),
        ({"CLUSTER_PORT": "70000"}, "CLUSTER_PORT must be between"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL must be a postgresql:// URL"),
        ({"REDIS_URL": "127.0.0.1:6379"}, "REDIS_URL must be a redis:// URL"),
    ],
)
def test_bad_settings_are_one_clear_line(env, message) -> None:
    with pytest.raises(ClusterError, match=message):
        ClusterSettings.from_env(env)


def test_every_replica_gets_the_shared_services_and_its_own_ports() -> None:
    settings = ClusterSettings.from_env({"RASA_REPLICAS": "3", "CLUSTER_PORT": "9000"})
    base = {"CLINIC_CONFIG": "", "CLINIC_ALLOWED_ORIGINS": "https://clinic.example.org"}
    envs = [cluster.replica_env(settings, index, base) for index in range(3)]
    assert [env["RASA_PORT"] for env in envs] == ["5010", "5011", "5012"]
    assert [env["ACTION_SERVER_URL"] for env in envs][2] == "http://127.0.0.1:5062/webhook"
    for env in envs:
        assert env["RASA_ENDPOINTS"] == str(cluster.ENDPOINTS_FILE)
        assert env["DATABASE_URL"] == env["WEBHOOK_DB"] == settings.database_url
        assert env["REDIS_URL"] == settings.redis_url
        # The clinic's origin stays allowed, and the page nginx serves is too.
        assert env["CLINIC_ALLOWED_ORIGINS"].split(",") == [
            "https://clinic.example.org",
            "http://127.0.0.1:9000",
            "http://localhost:9000",
        ]


def test_the_endpoints_file_names_every_service_by_variable() -> None:
    endpoints = yaml.safe_load(cluster.ENDPOINTS_FILE.read_text())
    assert endpoints["tracker_store"]["url"] == "${DATABASE_URL}"
    assert endpoints["lock_store"] == {
        "type": "bot.server.lock_store.AtomicRedisLockStore",
        "url": "${REDIS_URL}",
    }
    assert endpoints["action_endpoint"]["url"] == "${ACTION_SERVER_URL}"


def test_nginx_accepts_the_config_it_is_given(tmp_path: Path) -> None:
    settings = ClusterSettings.from_env({"CLUSTER_PORT": "18080"})
    site = cluster.nginx_site(settings)
    assert "server 127.0.0.1:5010; server 127.0.0.1:5011;" in site
    assert "listen 127.0.0.1:18080;" in site
    assert "$http_upgrade" in site  # nginx's own variables are left alone
    from tests.conftest import require_nginx

    nginx = require_nginx()
    (tmp_path / "spine-faq.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(cluster.nginx_main_config(tmp_path))
    check = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
