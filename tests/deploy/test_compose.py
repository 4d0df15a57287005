"""docker-compose.yml read as data and checked against the code it deploys.

No container runs here: these tests hold the file to what the settings, modules,
ports and the bundled Temporal server say.
"""

import importlib
import importlib.util
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.settings import Settings
from api.temporal import SEARCH_ATTRIBUTES
from embedded.temporal_server import temporal_executable

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
APP_SERVICES = ("api", "worker", "migrate")
# What a secret left to the operator is replaced with when the file is interpolated.
OPERATOR_VALUES = {"JWT_SECRET": "s" * 48, "POSTGRES_PASSWORD": "pw"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`, as an operator
    would run it: secrets from OPERATOR_VALUES, everything else at its default.
    """

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2) or ""
        if name in OPERATOR_VALUES:
            return OPERATOR_VALUES[name]
        assert ":?" not in match.group(0), f"{name} has no value for the test"
        return default

    return _VARIABLE.sub(replace, value)


def environment(service: str) -> dict[str, str]:
    raw = SERVICES[service].get("environment", {})
    assert isinstance(raw, dict), f"{service}: environment as a mapping"
    return {key: interpolate(str(value)) for key, value in raw.items()}


def settings_of(service: str) -> Settings:
    """The Settings the service's process would build from its environment."""
    values = {key.lower(): value for key, value in environment(service).items()}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def temporal_versions() -> dict[str, str]:
    """`Server` and `UI` versions of the temporal CLI the tests run against."""
    output = subprocess.run(
        [temporal_executable(), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"(Server|UI) ([\d.]+)", output))


def image_tag(service: str) -> tuple[str, str]:
    name, _, tag = SERVICES[service]["image"].partition(":")
    return name, tag


def command(service: str) -> list[str]:
    value = SERVICES[service].get("command", [])
    return value if isinstance(value, list) else value.split()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_app_variable_is_a_setting_and_validates_in_production(
    service: str,
) -> None:
    env = environment(service)
    known = {name.upper() for name in Settings.model_fields}

    assert set(env) <= known, f"unknown settings: {set(env) - known}"
    settings = settings_of(service)
    assert settings.environment == "production"
    assert settings.effective_log_format == "json"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_reach_the_services_of_this_file(service: str) -> None:
    settings = settings_of(service)
    postgres = SERVICES["postgresql"]["environment"]

    assert settings.database_url.startswith("postgresql+psycopg://")
    assert f"@postgresql:5432/{postgres['POSTGRES_DB']}" in settings.database_url
    assert settings.temporal_address == "temporal:7233"
    assert settings.redis_url is not None
    assert settings.redis_url.startswith("redis://redis:6379/")


def test_api_and_worker_share_task_queue_namespace_and_secret() -> None:
    api, worker = settings_of("api"), settings_of("worker")
    setup = environment("temporal-setup")

    assert api.task_queue == worker.task_queue
    assert api.temporal_namespace == worker.temporal_namespace
    assert api.temporal_namespace == setup["TEMPORAL_NAMESPACE"]
    assert api.jwt_secret == worker.jwt_secret


def test_api_port_agrees_with_its_command_mapping_and_health_check() -> None:
    api = SERVICES["api"]
    args = command("api")
    port = args[args.index("--port") + 1]

    assert f"{port}:{port}" in api["ports"]
    assert f"127.0.0.1:{port}/ready" in " ".join(api["healthcheck"]["test"])


def test_worker_scales_and_its_metrics_port_agrees_with_its_health_check() -> None:
    worker = SERVICES["worker"]
    port = environment("worker")["WORKER_METRICS_PORT"]

    assert "container_name" not in worker
    assert "ports" not in worker
    assert port in [str(p) for p in worker.get("expose", [])]
    assert f"127.0.0.1:{port}/metrics" in " ".join(worker["healthcheck"]["test"])


def test_worker_gets_longer_to_stop_than_its_activities_get_to_drain() -> None:
    worker = SERVICES["worker"]
    drain = float(environment("worker")["WORKER_SHUTDOWN_SECONDS"])

    assert _seconds(worker["stop_grace_period"]) > drain


def test_commands_name_modules_and_files_that_exist() -> None:
    assert command("worker") == ["python", "worker.py"]
    assert (ROOT / "worker.py").is_file()
    assert command("migrate") == ["python", "-m", "api.db.migrate"]
    assert importlib.util.find_spec("api.db.migrate") is not None
    app_path = command("api")[command("api").index("--factory") + 1]
    module, _, attribute = app_path.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_setup_scripts_and_mounted_folders_exist() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        args = command(name)
        if args and args[0].startswith("/deploy/"):
            script = ROOT / "deploy/temporal" / Path(args[0]).name
            assert script.is_file(), f"{name} runs missing {script}"


def test_setup_registers_every_search_attribute_the_api_sets() -> None:
    script = (ROOT / "deploy/temporal/setup-namespace.sh").read_text()

    for name, kind in SEARCH_ATTRIBUTES.items():
        assert f"{name}={kind}" in script


def test_images_are_pinned_and_temporal_matches_the_tested_server() -> None:
    versions = temporal_versions()

    for name, service in SERVICES.items():
        if "image" in service:
            image, tag = image_tag(name)
            assert tag and tag != "latest", f"{name}: pin {image}"
    assert image_tag("temporal") == ("temporalio/server", versions["Server"])
    assert image_tag("temporal-schema") == (
        "temporalio/admin-tools",
        versions["Server"],
    )
    assert image_tag("temporal-setup") == ("temporalio/admin-tools", versions["Server"])
    assert image_tag("temporal-ui") == ("temporalio/ui", versions["UI"])
    assert all("auto-setup" not in s.get("image", "") for s in SERVICES.values())


def test_one_image_is_built_for_every_app_service() -> None:
    for name in APP_SERVICES:
        assert SERVICES[name]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()


def test_depends_on_conditions_are_consistent() -> None:
    for name, service in SERVICES.items():
        for target, rule in service.get("depends_on", {}).items():
            condition = rule["condition"]
            assert target in SERVICES, f"{name} depends on unknown {target}"
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{target} needs one"
            elif condition == "service_completed_successfully":
                one_shot = SERVICES[target]
                assert str(one_shot.get("restart", "no")).startswith(("no", "on-"))
                assert "ports" not in one_shot and "healthcheck" not in one_shot
            else:
                assert condition == "service_started", condition


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)
