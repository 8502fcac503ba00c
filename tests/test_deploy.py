"""The container and Kubernetes files in deploy/ agree with the topology `make cluster` runs.

The Dockerfiles, docker-compose.yml and the Helm values are not run on the build machines
(no container engine there); `make cluster` is (tests/test_cluster.py). These checks keep
them saying what the tested files say: deploy/endpoints.yml, credentials.yml, the
Makefile's install step, the nginx template, bot/server/cluster.py's ports and variable
names; that no secret is written in them; and, in one subprocess, that the actions run
with nothing importable but what the action server's image installs.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import shlex
import subprocess
import sys
from fnmatch import fnmatchcase
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Iterator, List, Set, Tuple
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement

from bot.core import responder
from bot.core.paths import PROJECT_ROOT, SPACY_MODEL_DIR
from bot.core.settings import ClinicSettings, parse_origins
from bot.server import action_server, cluster

DEPLOY = PROJECT_ROOT / "deploy"
RASA_DOCKERFILE = DEPLOY / "Dockerfile.rasa"
ACTIONS_DOCKERFILE = DEPLOY / "Dockerfile.actions"
ENDPOINT_VARIABLES = {"ACTION_SERVER_URL", "ACTION_SERVER_TOKEN", "DATABASE_URL", "REDIS_URL"}
# Keys the `rasa` chart (1.17.8) sets by default under these endpoint sections. Helm merges
# a values file into the defaults, so each must be overridden or removed (null) here, or
# it ends up in the rendered endpoints.yml (e.g. `port: ${DB_PORT}`, an unset variable).
CHART_ENDPOINT_DEFAULTS = {
    "trackerStore": {"type", "dialect", "url", "port", "username", "password", "db", "login_db"},
    "lockStore": {"type", "url", "port", "password", "db"},
}
# Where the chart mounts the endpoints and credentials it renders from the values.
CHART_MOUNTS = {"--endpoints": "/app/endpoints.yml", "--credentials": "/app/credentials.yml"}
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET", re.IGNORECASE)
# `${VAR:?message}` (required) or `${VAR:-}` (optional, empty by default).
INTERPOLATION = re.compile(r"\$\{(\w+)(:\?[^}]*|:-)\}")


# --- reading the files ---------------------------------------------------------------------


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> Dict[str, Any]:
    return load(DEPLOY / "docker-compose.yml")


def service(name: str) -> Dict[str, Any]:
    return compose()["services"][name]


def helm(name: str = "values.yaml") -> Dict[str, Any]:
    return load(DEPLOY / "helm" / name)


def helm_env(values: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {entry["name"]: entry for entry in values["extraEnv"]}


def instructions(dockerfile: Path) -> List[Tuple[str, str]]:
    """(KEYWORD, arguments) of each instruction, continuation lines joined, comments dropped."""
    lines = [
        line
        for line in dockerfile.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def arguments(dockerfile: Path, keyword: str) -> List[str]:
    return [rest for key, rest in instructions(dockerfile) if key == keyword]


def exec_form(dockerfile: Path, keyword: str) -> List[str]:
    """The last CMD or ENTRYPOINT, which must be in exec (JSON) form."""
    return json.loads(arguments(dockerfile, keyword)[-1])


def run_commands(dockerfile: Path) -> List[List[str]]:
    return [
        shlex.split(command)
        for rest in arguments(dockerfile, "RUN")
        for command in rest.split("&&")
    ]


def pip_installs(commands: List[List[str]]) -> List[List[str]]:
    """The arguments after `pip install` of each command, without `--quiet`."""
    installs = []
    for words in commands:
        for index in range(len(words) - 1):
            if words[index : index + 2] == ["pip", "install"]:
                rest = words[index + 2 :]
                installs.append([word for word in rest if word not in ("--quiet", "-q")])
    return installs


def makefile_installs() -> List[List[str]]:
    """The pip installs of the Makefile's install step ($(INSTALLED))."""
    recipe = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8").split("$(INSTALLED):")[1]
    recipe = recipe.split("\n\n")[0]
    commands = [shlex.split(line) for line in recipe.splitlines() if "pip install" in line]
    return pip_installs(commands)


def makefile_variable(name: str) -> str:
    text = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    return re.search(rf"^{name} := (\S+)$", text, re.MULTILINE).group(1)


def copies(dockerfile: Path) -> List[Tuple[List[str], str]]:
    """(sources, destination) of each COPY from the build context (not from a stage)."""
    found = []
    for rest in arguments(dockerfile, "COPY"):
        words = rest.split()
        if any(word.startswith("--from=") for word in words):
            continue
        paths = [word for word in words if not word.startswith("--")]
        found.append((paths[:-1], paths[-1]))
    return found


def copied_sources(dockerfile: Path) -> Set[str]:
    return {source for sources, _ in copies(dockerfile) for source in sources}


def command_options(command: List[str]) -> Dict[str, str]:
    """`--flag value` pairs of a command line."""
    return {
        word: command[index + 1]
        for index, word in enumerate(command[:-1])
        if word.startswith("--") and not command[index + 1].startswith("--")
    }


def exposed(dockerfile: Path) -> Set[int]:
    return {int(port) for rest in arguments(dockerfile, "EXPOSE") for port in rest.split()}


def constraints() -> Dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        pins[canonical(name)] = version.strip()
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dockerignore_allows(path: str, patterns: List[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its folders decides."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: length + 1]) for length in range(len(parts))]
    allowed = True
    for pattern in patterns:
        exception = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/")
        if any(fnmatchcase(prefix, glob) for prefix in prefixes):
            allowed = exception
    return allowed


def ignore_patterns(dockerfile: Path) -> List[str]:
    text = dockerfile.with_name(dockerfile.name + ".dockerignore").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def strings(node: Any, key: str = "") -> Iterator[Tuple[str, Any]]:
    """(key, value) of every scalar in a YAML document, the key being the nearest name."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from strings(value, str(name))
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict) and "name" in item and "value" in item:
                yield str(item["name"]), item["value"]
            else:
                yield from strings(item, key)
    else:
        yield key, node


# --- endpoints and credentials -------------------------------------------------------------


def helm_rendered_endpoints(values: Dict[str, Any]) -> Dict[str, Any]:
    """The endpoints.yml the chart renders from these values (templates/config-map.yaml)."""
    settings = values["applicationSettings"]["endpoints"]
    assert settings["models"]["enabled"] is False
    assert settings["eventBroker"]["enabled"] is False
    # The chart's own action endpoint carries no header, so it must stay off.
    assert values["rasa-action-server"]["install"] is False
    assert values["rasa-action-server"]["external"]["enabled"] is False
    rendered: Dict[str, Any] = {}
    for section, name in (("trackerStore", "tracker_store"), ("lockStore", "lock_store")):
        given = settings[section]
        assert given["enabled"] is True, section
        assert CHART_ENDPOINT_DEFAULTS[section] <= set(given), section
        rendered[name] = {
            key: value for key, value in given.items() if key != "enabled" and value is not None
        }
        # The chart writes each as `key: value`: only scalars come out as they were.
        assert all(not isinstance(value, dict | list) for value in rendered[name].values())
    rendered.update(settings["additionalEndpoints"])
    return rendered


def test_helm_endpoints_are_those_of_deploy_endpoints_yml() -> None:
    endpoints = load(cluster.ENDPOINTS_FILE)
    rendered = helm_rendered_endpoints(helm())
    assert rendered["tracker_store"]["dialect"] == "postgresql"
    assert rendered["lock_store"]["type"] == endpoints["lock_store"]["type"]
    assert rendered == endpoints


def test_the_lock_store_class_named_exists() -> None:
    from rasa.core.lock_store import LockStore

    for endpoints in (load(cluster.ENDPOINTS_FILE), helm_rendered_endpoints(helm())):
        module, _, name = endpoints["lock_store"]["type"].rpartition(".")
        assert module == "bot.server.lock_store"
        assert issubclass(getattr(importlib.import_module(module), name), LockStore)


def test_helm_credentials_are_those_of_credentials_yml() -> None:
    credentials = helm()["applicationSettings"]["credentials"]
    assert credentials["enabled"] is True
    assert credentials["additionalChannelCredentials"] == load(PROJECT_ROOT / "credentials.yml")


def test_rasa_starts_with_deploy_endpoints_and_credentials_everywhere() -> None:
    image_command = exec_form(RASA_DOCKERFILE, "CMD")
    assert service("rasa")["command"] == image_command
    options = command_options(image_command)
    assert image_command[0] == "run"
    assert PROJECT_ROOT / options["--endpoints"] == cluster.ENDPOINTS_FILE
    assert options["--credentials"] == "credentials.yml"
    assert options["--model"] == makefile_variable("MODEL")
    assert options["--interface"] == "0.0.0.0"
    # The entrypoint hands these to the launcher, as scripts/serve.sh does.
    entrypoint = exec_form(RASA_DOCKERFILE, "ENTRYPOINT")
    assert entrypoint == ["/app/deploy/rasa-entrypoint.sh"]
    assert arguments(RASA_DOCKERFILE, "WORKDIR")[-1] == "/app"
    script = (DEPLOY / "rasa-entrypoint.sh").read_text(encoding="utf-8")
    assert 'exec python -m bot.server.launcher "$@"' in script
    # Helm: the same command, with the files the chart renders from the values above.
    helm_options = command_options(helm()["args"])
    assert helm()["args"][0] == "run"
    assert helm_options == {**options, **CHART_MOUNTS}


# --- variables and ports -------------------------------------------------------------------


def test_every_variable_of_deploy_endpoints_yml_is_set_everywhere() -> None:
    used = set(re.findall(r"\$\{(\w+)\}", cluster.ENDPOINTS_FILE.read_text(encoding="utf-8")))
    assert used == ENDPOINT_VARIABLES
    needed = used | {"WEBHOOK_DB"}
    make_cluster = cluster.replica_env(cluster.ClusterSettings.from_env({}), 0, {})
    # make cluster: scripts/serve.sh makes each replica's token, the rest comes from cluster.py.
    assert needed - {"ACTION_SERVER_TOKEN"} <= set(make_cluster)
    serve = (PROJECT_ROOT / "scripts" / "serve.sh").read_text(encoding="utf-8")
    assert "export ACTION_SERVER_TOKEN" in serve
    compose_env = service("rasa")["environment"]
    assert needed <= set(compose_env)
    assert needed <= set(helm_env(helm()))
    # The signed webhook's claims live in the tracker store's database, as in make cluster.
    assert make_cluster["WEBHOOK_DB"] == make_cluster["DATABASE_URL"]
    assert compose_env["WEBHOOK_DB"] == compose_env["DATABASE_URL"]
    helm_vars = helm_env(helm())
    assert helm_vars["WEBHOOK_DB"]["valueFrom"] == helm_vars["DATABASE_URL"]["valueFrom"]
    assert urlsplit(compose_env["DATABASE_URL"]).scheme == "postgresql"
    assert urlsplit(compose_env["REDIS_URL"]).scheme == "redis"


def test_both_servers_get_every_clinic_setting_in_compose() -> None:
    names = {f"CLINIC_{item.name.upper()}" for item in dataclasses.fields(ClinicSettings)}
    for name in ("rasa", "actions"):
        assert {key for key in service(name)["environment"] if key.startswith("CLINIC_")} == names


def interpolate(value: str, environ: Dict[str, str]) -> str:
    """Compose's `${VAR:+text}` and `${VAR:-default}`, for the forms used here."""

    def one(match: re.Match) -> str:
        name, form, text = match.groups()
        given = environ.get(name, "")
        return (text if given else "") if form == ":+" else (given or text)

    return re.sub(r"\$\{(\w+)(:[+-])([^}]*)\}", one, value)


@pytest.mark.parametrize("configured", ["", "https://www.clinic.example"])
def test_the_web_chat_through_nginx_is_allowed_as_in_make_cluster(configured: str) -> None:
    environ = {"CLINIC_CONFIG": "", "CLINIC_ALLOWED_ORIGINS": configured}
    make_cluster = cluster.allowed_origins(cluster.ClusterSettings.from_env({}), environ)
    raw = service("rasa")["environment"]["CLINIC_ALLOWED_ORIGINS"]
    origins = parse_origins(interpolate(raw, environ), "CLINIC_ALLOWED_ORIGINS")
    assert list(origins) == make_cluster.split(",")
    assert len(origins) == 2 + bool(configured)


def test_replicas_and_ports_agree_with_make_cluster() -> None:
    replicas = int(cluster.DEFAULTS["RASA_REPLICAS"])
    assert service("rasa")["deploy"]["replicas"] == replicas
    assert helm()["replicaCount"] == replicas
    # nginx: the public port of make cluster, published on loopback only.
    port = cluster.DEFAULTS["CLUSTER_PORT"]
    nginx = service("nginx")
    assert nginx["environment"]["CLUSTER_PORT"] == port
    assert nginx["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert [name for name, spec in compose()["services"].items() if "ports" in spec] == ["nginx"]
    # Rasa: 5005 in the upstream, the command, the image and the chart.
    upstream = re.fullmatch(r"server (\w+):(\d+);", nginx["environment"]["RASA_UPSTREAMS"])
    assert upstream and upstream.group(1) == "rasa"
    rasa_port = int(upstream.group(2))
    assert rasa_port == 5005
    assert int(command_options(service("rasa")["command"])["--port"]) == rasa_port
    assert exposed(RASA_DOCKERFILE) == {rasa_port}
    assert helm()["applicationSettings"]["port"] == rasa_port
    assert int(command_options(helm()["args"])["--port"]) == rasa_port
    # The action server: 5055 in compose's URL, its image and the action chart's service.
    action_url = urlsplit(service("rasa")["environment"]["ACTION_SERVER_URL"])
    assert action_url.hostname == "actions" and "actions" in compose()["services"]
    assert action_url.port == action_server.DEFAULT_PORT == 5055
    assert action_url.path == "/webhook"
    assert exposed(ACTIONS_DOCKERFILE) == {action_url.port}
    assert int(command_options(exec_form(ACTIONS_DOCKERFILE, "CMD"))["--port"]) == 5055
    actions_chart = helm("actions-values.yaml")
    helm_url = urlsplit(helm_env(helm())["ACTION_SERVER_URL"]["value"])
    assert helm_url.hostname == actions_chart["fullnameOverride"]
    assert helm_url.port == actions_chart["service"]["port"] == 5055
    assert actions_chart["applicationSettings"]["port"] == 5055
    assert helm_url.path == "/webhook"


def test_the_action_server_listens_beyond_loopback_and_gets_the_same_token() -> None:
    assert action_server.HOST_ENV == "ACTION_HOST"
    assert "ACTION_HOST=0.0.0.0" in " ".join(arguments(ACTIONS_DOCKERFILE, "ENV"))
    assert service("actions")["environment"]["ACTION_HOST"] == "0.0.0.0"
    token = service("rasa")["environment"]["ACTION_SERVER_TOKEN"]
    assert service("actions")["environment"][action_server.TOKEN_ENV] == token
    chart_env = helm_env(helm("actions-values.yaml"))
    assert chart_env["ACTION_HOST"]["value"] == "0.0.0.0"
    rasa_token = helm_env(helm())["ACTION_SERVER_TOKEN"]["valueFrom"]
    assert chart_env[action_server.TOKEN_ENV]["valueFrom"] == rasa_token


def test_compose_nginx_renders_the_template_make_cluster_renders() -> None:
    nginx = service("nginx")
    assert nginx["image"].startswith("nginx:")
    mounts = [volume.split(":") for volume in nginx["volumes"]]
    templates = [m for m in mounts if m[1].startswith("/etc/nginx/templates/")]
    assert len(templates) == 1
    source, target = templates[0][:2]
    assert (DEPLOY / source).resolve() == cluster.NGINX_TEMPLATE.resolve()
    assert target == f"/etc/nginx/templates/{cluster.NGINX_TEMPLATE.name}"
    # The image fills in the template's variables from the environment, as make cluster does.
    template = cluster.NGINX_TEMPLATE.read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{(\w+)\}", template)) == set(nginx["environment"])


# --- the images ----------------------------------------------------------------------------


def test_the_rasa_image_installs_what_make_install_installs() -> None:
    expected = makefile_installs()
    assert len(expected) == 4  # pip, requirements with constraints, build wheels, project
    installs = pip_installs(run_commands(RASA_DOCKERFILE))
    assert installs == expected
    sources = copied_sources(RASA_DOCKERFILE)
    for name in ("requirements.txt", "requirements-build.txt", "constraints.txt"):
        assert name in sources


def test_the_rasa_image_has_what_the_replicas_read() -> None:
    sources = copied_sources(RASA_DOCKERFILE)
    needed = {"deploy/endpoints.yml", "credentials.yml", "config.yml", "domain.yml"}
    assert needed | {"bot/", "data/", "web/", makefile_variable("MODEL")} <= sources
    # The widget's socket.io client, from `npm ci` on the lock file, as `make install`.
    assert ["npm", "ci", "--no-audit", "--no-fund"] in run_commands(RASA_DOCKERFILE)
    assert any("web/package-lock.json" in rest for rest in arguments(RASA_DOCKERFILE, "COPY"))
    assert any(
        rest.startswith("--from=web") and rest.endswith("web/node_modules")
        for rest in arguments(RASA_DOCKERFILE, "COPY")
    )
    # The spaCy pipeline config.yml names, and the encoder, built in the image.
    commands = run_commands(RASA_DOCKERFILE)
    assert ["python", "-m", "bot", "build-spacy"] in commands
    assert ["python", "-m", "bot", "build-encoder"] in commands
    pipeline = load(PROJECT_ROOT / "config.yml")["pipeline"]
    spacy = next(component for component in pipeline if component["name"] == "SpacyNLP")
    assert PROJECT_ROOT / spacy["model"] == SPACY_MODEL_DIR
    # The environment scripts/serve.sh gives Rasa, and no root.
    serve = (PROJECT_ROOT / "scripts" / "serve.sh").read_text(encoding="utf-8")
    size = re.search(r"SANIC_REQUEST_MAX_SIZE:-(\d+)", serve).group(1)
    env = " ".join(arguments(RASA_DOCKERFILE, "ENV"))
    assert f"SANIC_REQUEST_MAX_SIZE={size}" in env
    assert "RASA_TELEMETRY_ENABLED=false" in env
    assert helm()["applicationSettings"]["telemetry"]["enabled"] is False
    assert arguments(RASA_DOCKERFILE, "USER")[-1] not in ("root", "0")
    # The model is in the image: the chart must not mount a downloaded one over it.
    assert helm()["applicationSettings"]["initialModel"] == ""
    assert helm()["applicationSettings"]["trainInitialModel"] is False


def test_the_action_image_installs_rasa_sdk_at_the_pinned_versions_not_rasa() -> None:
    installs = pip_installs(run_commands(ACTIONS_DOCKERFILE))
    assert ["pip==24.0"] in installs and ["pip==24.0"] in makefile_installs()
    pinned = {}
    for words in installs:
        assert "-r" not in words  # never requirements.txt, which brings Rasa
        for word in words:
            if "==" in word:
                name, _, version = word.partition("==")
                pinned[canonical(name)] = version
        if words != ["pip==24.0"]:
            assert words[:2] == ["-c", "constraints.txt"]
    assert "constraints.txt" in copied_sources(ACTIONS_DOCKERFILE)
    assert "rasa" not in pinned and "rasa-sdk" in pinned
    pins = constraints()
    for name, version in pinned.items():
        if name != "pip":
            assert pins[name] == version, name
    assert exec_form(ACTIONS_DOCKERFILE, "CMD")[:3] == ["python", "-m", "bot.server.action_server"]
    assert command_options(exec_form(ACTIONS_DOCKERFILE, "CMD"))["--actions"] == "actions"
    assert arguments(ACTIONS_DOCKERFILE, "USER")[-1] not in ("root", "0")


# The red-flag summaries NLU attaches to a message (bot/core/safety), for a sign present now
# and for one only asked about.
PRESENT = {
    "status": "present",
    "urgency": "emergency",
    "present": ["incontinence"],
    "mentioned": [],
    "absent": [],
}
MENTIONED = {
    "status": "mentioned",
    "urgency": None,
    "present": [],
    "mentioned": ["saddle_numbness"],
    "absent": [],
}
PROBE = r"""
import asyncio, importlib.abc, json, os, sys

blocked = set(json.loads(sys.argv[1]))


class NotInTheImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ImportError(f"{name} is not installed in the action server's image")
        return None


sys.meta_path.insert(0, NotInTheImage())
os.environ["ACTION_SERVER_TOKEN"] = "t" * 32

import yaml
from bot.core.settings import describe, load_settings
from bot.server import action_server
from bot.server.quiet_warnings import silence_dependency_deprecations
from rasa_sdk.executor import ActionExecutor

silence_dependency_deprecations(preload=())
describe(load_settings())
action_server.create_app(action_server.token_from_env(), "actions")
executor = ActionExecutor()
executor.register_package("actions")
domain = yaml.safe_load(open("domain.yml", encoding="utf-8"))
PRESENT, MENTIONED = json.loads(sys.argv[2]), json.loads(sys.argv[3])


def run(action, text, intent, red_flag=None):
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if red_flag:
        latest["red_flag"] = red_flag
    tracker = {"sender_id": "p", "slots": {"procedure": None}, "latest_message": latest,
               "events": [{"event": "user", "text": text, "parse_data": latest}],
               "paused": False, "followup_action": None, "active_loop": {},
               "latest_action_name": "action_listen"}
    call = {"next_action": action, "sender_id": "p", "tracker": tracker, "domain": domain}
    return asyncio.run(executor.run(call))["responses"]


replies = {name: run(name, "does a facet injection hurt?", "ask_pain") for name in executor.actions}
urgent = run("action_give_red_flag_advice", "I can't hold my bladder", "red_flag", PRESENT)
net = run("action_answer_question", "could it make my groin numb?", "ask_side_effects", MENTIONED)
print(json.dumps({"replies": replies, "urgent": urgent, "net": net}))
"""


def distributions_installed_by(names: List[str]) -> Set[str]:
    """The distributions pip installs for `names`: their dependencies, transitively."""
    found: Set[str] = set()
    todo = list(names)
    while todo:
        name = canonical(todo.pop())
        if name in found:
            continue
        found.add(name)
        for spec in metadata.distribution(name).requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def installed_modules() -> Dict[str, Set[str]]:
    """Top-level module name -> the installed distributions that ship it (from their RECORD;
    Python 3.10's packages_distributions() misses those without top_level.txt, e.g. Rasa)."""
    owners: Dict[str, Set[str]] = {}
    for dist in metadata.distributions():
        name = canonical(dist.metadata["Name"])
        for line in (dist.read_text("RECORD") or "").splitlines():
            top, folder, _ = line.split(",", 1)[0].partition("/")
            if top == ".." or top.endswith((".dist-info", ".data", ".egg-info")):
                continue
            if not folder:
                if not top.endswith((".py", ".so")):
                    continue
                top = top.split(".")[0]
            owners.setdefault(top, set()).add(name)
    return owners


def test_the_actions_run_with_only_what_the_action_image_installs() -> None:
    installs = pip_installs(run_commands(ACTIONS_DOCKERFILE))
    names = [word.split("==")[0] for words in installs for word in words if "==" in word]
    allowed = distributions_installed_by([n for n in names if canonical(n) != "pip"])
    allowed |= {"pip", "spine-faq-assistant"}
    blocked = (
        {module for module, owners in installed_modules().items() if not owners & allowed}
        - {"bot", "actions"}
        - set(sys.stdlib_module_names)
    )
    # What the Rasa side needs and the action image leaves out.
    assert {"rasa", "tensorflow", "spacy", "medspacy", "sqlalchemy"} <= blocked
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *map(json.dumps, (sorted(blocked), PRESENT, MENTIONED))],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(outcome["replies"]) == set(load(PROJECT_ROOT / "domain.yml")["actions"])
    for name, replies in outcome["replies"].items():
        assert replies and all(reply.get("text") for reply in replies), name
    assert outcome["urgent"][0]["custom"] == {"urgency": "emergency"}
    net = responder.safety_net(MENTIONED)
    assert net and net in outcome["net"][0]["text"]


@pytest.mark.parametrize("dockerfile", [RASA_DOCKERFILE, ACTIONS_DOCKERFILE], ids=lambda p: p.name)
def test_the_build_context_holds_what_is_copied_and_no_secret(dockerfile: Path) -> None:
    patterns = ignore_patterns(dockerfile)
    for source in copied_sources(dockerfile):
        assert (PROJECT_ROOT / source).exists() or source.startswith("models/"), source
        assert dockerignore_allows(source, patterns), source
    for private in (
        ".env",
        "deploy/.env",
        "clinic.yml",
        ".venv/bin/python",
        "var/webhook.sqlite3",
        ".git/config",
        "build/encoder/model.onnx",
        "web/node_modules/socket.io-client/package.json",
        "bot/__pycache__/paths.cpython-310.pyc",
    ):
        assert not dockerignore_allows(private, patterns), private


# --- secrets -------------------------------------------------------------------------------


def test_no_secret_is_written_in_compose() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    required = set()
    for name, spec in compose()["services"].items():
        for key, value in (spec.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                match = INTERPOLATION.fullmatch(str(value))
                assert match and match.group(1) == key, f"{name}: {key}"
                if match.group(2).startswith(":?"):
                    required.add(key)
    assert required == {"POSTGRES_PASSWORD", "ACTION_SERVER_TOKEN"}
    # A password inside a URL comes from a required variable too.
    urls = 0
    for _, value in strings(compose()):
        userinfo = re.match(r"\w+://[^:/@]+:(.*)@[\w.-]+(:\d+)?/", str(value))
        if userinfo:
            urls += 1
            password = INTERPOLATION.fullmatch(userinfo.group(1))
            assert password and password.group(2).startswith(":?"), value
    assert urls >= 2  # DATABASE_URL and WEBHOOK_DB
    # deploy/env.example names every variable compose reads, and gives none a value.
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    assignments = dict(
        line.split("=", 1) for line in example.splitlines() if line and line[0] != "#"
    )
    assert set(assignments) == set(re.findall(r"\$\{(\w+)", text))
    assert set(assignments.values()) == {""}


@pytest.mark.parametrize("name", ["values.yaml", "actions-values.yaml"])
def test_no_secret_is_written_in_the_helm_values(name: str) -> None:
    values = helm(name)
    from_secret = {"DATABASE_URL", "WEBHOOK_DB", "REDIS_URL"}
    env = helm_env(values)
    assert env, name
    for key, entry in env.items():
        if SECRET_NAME.search(key) or key in from_secret:
            assert "value" not in entry, key
            assert entry["valueFrom"]["secretKeyRef"]["name"] == "spine-faq", key
    for key, value in strings(values):
        if SECRET_NAME.search(key) and isinstance(value, str) and value:
            assert value.startswith("${") and value.endswith("}"), f"{key}: {value}"
