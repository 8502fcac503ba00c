"""Who can talk to the servers: Rasa's HTTP API, CORS, secrets, telemetry.

- The HTTP API (trackers of every patient, /model/parse, ...) is not served by default.
- Switched on through scripts/serve.sh it needs a token or a JWT: none or a wrong one
  gets 401, a patient's JWT asking for another patient's conversation 403.
- Browsers may call Rasa only from the origins in the clinic settings.
- serve.sh generates the action server's secret and both servers get it; telemetry
  is off in every process it starts.
- No secret is written in the repository's configuration.

The action server's own secret check is in tests/test_action_server.py.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import jwt
import pytest
import yaml

from bot.core.paths import PROJECT_ROOT
from bot.core.settings import SettingsError, load_settings
from harness.servers import START_TIMEOUT, free_port, running_servers

AUTH_TOKEN = secrets.token_hex(24)
JWT_SECRET = secrets.token_hex(32)
ALLOWED_ORIGIN = "https://clinic.example.org"
SERVE = PROJECT_ROOT / "scripts" / "serve.sh"


def http(
    url: str, method: str = "GET", body: Optional[dict] = None, headers: Optional[dict] = None
) -> Tuple[int, Dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def patient_jwt(username: str, role: str = "user", secret: str = JWT_SECRET) -> str:
    """A JWT as Rasa expects it (user.username is the conversation id)."""
    payload = {"user": {"username": username, "role": role}, "exp": int(time.time()) + 600}
    return jwt.encode(payload, secret, algorithm="HS256")


# --- the API is off by default ------------------------------------------------------------


@pytest.fixture(scope="module")
def default_servers(tmp_path_factory):
    with running_servers(tmp_path_factory.mktemp("default")) as servers:
        yield servers


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/conversations/patient-1/tracker"),
        ("POST", "/conversations/patient-1/messages"),
        ("POST", "/model/parse"),
        ("GET", "/status"),
        ("PUT", "/model"),
    ],
)
def test_http_api_is_not_served_by_default(default_servers, method, path) -> None:
    status, _, _ = http(
        default_servers.url + path, method, {"text": "hi"} if method != "GET" else None
    )
    assert status in (404, 405)


@pytest.mark.slow
def test_no_cross_origin_access_by_default(default_servers) -> None:
    _, headers, _ = http(
        default_servers.url + "/webhooks/rest/webhook",
        "POST",
        {"sender": uuid.uuid4().hex, "message": "hi"},
        {"Origin": ALLOWED_ORIGIN},
    )
    assert "Access-Control-Allow-Origin" not in headers


# --- `make run` with the API on: scripts/serve.sh ------------------------------------------


class ServeScript:
    """scripts/serve.sh run, on free ports, with a scratch tracker store."""

    def __init__(self, workdir: Path, env: Dict[str, str]) -> None:
        self.workdir = workdir
        self.rasa_port, self.action_port = free_port(), free_port()
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            "  headers:\n    X-Action-Token: ${ACTION_SERVER_TOKEN}\n"
            f'tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: "{workdir / "c.sqlite3"}"\n'
        )
        # serve.sh's own defaults are under test: no token, no telemetry setting given.
        base = {
            key: value
            for key, value in os.environ.items()
            if key not in ("ACTION_SERVER_TOKEN", "RASA_TELEMETRY_ENABLED")
        }
        self.env = {
            **base,
            "RASA_PORT": str(self.rasa_port),
            "ACTION_PORT": str(self.action_port),
            "RASA_ENDPOINTS": str(endpoints),
            "CLINIC_CONFIG": "",
            **env,
        }
        self.log = workdir / "serve.log"
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(SERVE), "run"],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve.sh exited:\n{self.log.read_text()[-3000:]}")
            try:
                status, _, body = http(self.url + "/webhooks/health/")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"serve.sh not healthy in time:\n{self.log.read_text()[-3000:]}")

    def children(self) -> Dict[str, int]:
        """pid of the Rasa server and of the action server started by serve.sh."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if self.process is not None and parent == self.process.pid:
                if "bot.server.action_server" in cmdline:
                    found["actions"] = int(entry.name)
                elif "bot.server.launcher run " in cmdline:
                    found["rasa"] = int(entry.name)
        return found

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # serve.sh stops both servers
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the session this test started
            self.process.wait(timeout=10)


def process_env(pid: int) -> Dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory) -> Iterator[ServeScript]:
    server = ServeScript(
        tmp_path_factory.mktemp("serve"),
        {
            "RASA_ENABLE_API": "true",
            "RASA_AUTH_TOKEN": AUTH_TOKEN,
            "RASA_JWT_SECRET": JWT_SECRET,
            "CLINIC_ALLOWED_ORIGINS": f"{ALLOWED_ORIGIN}, http://localhost:8080",
        },
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


def tracker_url(server: ServeScript, sender: str, token: Optional[str] = None) -> str:
    url = f"{server.url}/conversations/{sender}/tracker"
    return url + (f"?token={token}" if token is not None else "")


@pytest.mark.slow
def test_api_without_credentials_is_refused(api_server) -> None:
    assert http(tracker_url(api_server, "patient-1"))[0] == 401
    assert http(api_server.url + "/model/parse", "POST", {"text": "hi"})[0] == 401
    assert http(api_server.url + "/status")[0] == 401


@pytest.mark.slow
def test_api_with_a_wrong_token_is_refused(api_server) -> None:
    assert http(tracker_url(api_server, "patient-1", "wrong-" + AUTH_TOKEN))[0] == 401
    forged = patient_jwt("patient-1", "admin", secret="not-the-secret-" + JWT_SECRET)
    headers = {"Authorization": f"Bearer {forged}"}
    assert http(tracker_url(api_server, "patient-1"), headers=headers)[0] == 401


@pytest.mark.slow
def test_api_with_the_token_answers(api_server) -> None:
    status, _, body = http(tracker_url(api_server, "patient-1", AUTH_TOKEN))
    assert status == 200
    assert json.loads(body)["sender_id"] == "patient-1"


@pytest.mark.slow
def test_a_patient_jwt_reads_only_its_own_conversation(api_server) -> None:
    alice = {"Authorization": f"Bearer {patient_jwt('alice')}"}
    status, _, body = http(tracker_url(api_server, "alice"), headers=alice)
    assert status == 200 and json.loads(body)["sender_id"] == "alice"
    assert http(tracker_url(api_server, "bob"), headers=alice)[0] == 403
    admin = {"Authorization": f"Bearer {patient_jwt('ops', 'admin')}"}
    assert http(tracker_url(api_server, "bob"), headers=admin)[0] == 200


@pytest.mark.slow
def test_cors_allows_only_listed_origins(api_server) -> None:
    def allow_origin(origin: str) -> Optional[str]:
        _, headers, _ = http(
            api_server.url + "/webhooks/rest/webhook",
            "POST",
            {"sender": uuid.uuid4().hex, "message": "hi"},
            {"Origin": origin},
        )
        return headers.get("Access-Control-Allow-Origin")

    assert allow_origin(ALLOWED_ORIGIN) == ALLOWED_ORIGIN
    assert allow_origin("http://localhost:8080") == "http://localhost:8080"
    assert allow_origin("https://evil.example.com") is None


@pytest.mark.slow
def test_serve_script_shares_a_generated_secret_and_disables_telemetry(api_server) -> None:
    children = api_server.children()
    assert set(children) == {"rasa", "actions"}, children
    rasa_env, actions_env = (process_env(children[name]) for name in ("rasa", "actions"))
    assert rasa_env["RASA_TELEMETRY_ENABLED"] == "false"
    assert actions_env["RASA_TELEMETRY_ENABLED"] == "false"
    assert re.fullmatch(r"[0-9a-f]{64}", rasa_env["ACTION_SERVER_TOKEN"])
    assert actions_env["ACTION_SERVER_TOKEN"] == rasa_env["ACTION_SERVER_TOKEN"]
    # ...and the action server accepts what Rasa sends: health checks /actions with it.
    status, _, body = http(api_server.url + "/webhooks/health/")
    assert status == 200 and json.loads(body)["action_server"]["ok"] is True


# --- serve.sh refuses unsafe settings before starting anything -------------------------------


def run_serve(env: Dict[str, str]) -> subprocess.CompletedProcess:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in ("RASA_AUTH_TOKEN", "RASA_JWT_SECRET", "RASA_ENABLE_API")
    }
    # Ports nobody listens on: if the script did start a server, the test would see it.
    env = {"RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()), **env}
    return subprocess.run(
        [str(SERVE), "run"],
        cwd=PROJECT_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "env, message",
    [
        ({"RASA_ENABLE_API": "true"}, "needs RASA_AUTH_TOKEN or RASA_JWT_SECRET"),
        ({"RASA_ENABLE_API": "yes"}, "RASA_ENABLE_API must be true or false"),
        ({"CLINIC_ALLOWED_ORIGINS": "*"}, "'*' is not allowed"),
        ({"CLINIC_ALLOWED_ORIGINS": "https://clinic.example.org/chat"}, "is not an origin"),
    ],
)
def test_serve_script_refuses_unsafe_settings(env, message) -> None:
    result = run_serve(env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Starting the action server" not in result.stdout  # nothing was started


# --- configuration in the repository ----------------------------------------------------------


def test_telemetry_is_off_wherever_servers_are_started() -> None:
    for path in ("Makefile", "scripts/serve.sh", "harness/servers.py", ".ci/run"):
        text = (PROJECT_ROOT / path).read_text()
        assert re.search(r"RASA_TELEMETRY_ENABLED\W{1,8}false", text), path


SECRET_KEY = re.compile(r"(token|secret|password|auth|sid|key)", re.IGNORECASE)
ENV_REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+\}$")


def _secret_values(node, path: str = "") -> List[Tuple[str, str]]:
    """(path, value) of every non-empty scalar under a key that names a secret."""
    found: List[Tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            if SECRET_KEY.search(str(key)) and isinstance(value, str) and value != "":
                found.append((child, str(value)))
            found += _secret_values(value, child)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _secret_values(value, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("name", ["endpoints.yml", "credentials.yml"])
def test_no_secret_is_written_in_the_configuration(name) -> None:
    # BaseLoader: strings as written. (Importing Rasa makes safe_load expand ${VARS}.)
    document = yaml.load((PROJECT_ROOT / name).read_text(), Loader=yaml.BaseLoader) or {}
    values = _secret_values(document)
    assert all(ENV_REFERENCE.match(value) for _, value in values), values
    if name == "endpoints.yml":
        assert ("action_endpoint.headers.X-Action-Token", "${ACTION_SERVER_TOKEN}") in values


# Built from parts so this file does not match its own check.
PEM_PRIVATE_KEY = "PRIVATE " + "KEY-----"


def test_no_private_keys_or_env_files_are_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [name for name in tracked if Path(name).name in (".env", "clinic.yml")]
    for name in tracked:
        path = PROJECT_ROOT / name
        if path.suffix in (".py", ".yml", ".yaml", ".sh", ".md", ".json", ".txt", ".toml", ""):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            assert PEM_PRIVATE_KEY not in text, name


# --- the CORS allow-list setting -----------------------------------------------------------


def test_allowed_origins_from_environment_and_file(tmp_path) -> None:
    environ = {"CLINIC_ALLOWED_ORIGINS": " https://a.example.org/, http://localhost:8080 ,"}
    settings = load_settings(environ={**environ, "CLINIC_CONFIG": ""})
    assert settings.allowed_origins == ("https://a.example.org", "http://localhost:8080")
    clinic = tmp_path / "clinic.yml"
    clinic.write_text("allowed_origins:\n  - https://b.example.org\n  - http://[::1]:5005\n")
    settings = load_settings(environ={}, config_file=clinic)
    assert settings.allowed_origins == ("https://b.example.org", "http://[::1]:5005")
    assert load_settings(environ={"CLINIC_CONFIG": ""}).allowed_origins == ()


@pytest.mark.parametrize(
    "value",
    ["*", "https://*.example.org", "example.org", "https://a.example.org/chat", "ftp://a.org"],
)
def test_allowed_origins_must_be_plain_origins(value) -> None:
    with pytest.raises(SettingsError, match="CLINIC_ALLOWED_ORIGINS"):
        load_settings(environ={"CLINIC_ALLOWED_ORIGINS": value, "CLINIC_CONFIG": ""})
