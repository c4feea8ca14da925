#!/usr/bin/env python3
"""Check the docsearch Deployments in rendered manifests against the configuration that they mount.

Usage: check-pod-config.py RENDERED.yaml

For each Deployment whose container runs with --config FILE, the TOML file is read from the ConfigMap
mounted at FILE's directory, and DOCSEARCH__SECTION__KEY environment values override it, as the
binaries do. The checks:
  - server.listen_addr is 0.0.0.0 or [::] with the number of the container port named grpc.
  - The gRPC readiness probe targets that port.
  - terminationGracePeriodSeconds exceeds the preStop sleep plus server.shutdown_grace_period.
  - telemetry.log_format is json.
  - redis.url comes from a Secret, never from the ConfigMap or a literal environment value.
  - embedding.model_dir, when set, is a volume mount of the container.
Prints one line per failed check and exits 1 if any failed.
"""

import re
import sys
import tomllib

import yaml

ENV_PREFIX = "DOCSEARCH__"
# The binaries' default when server.shutdown_grace_period is unset (runtime/src/config.rs).
DEFAULT_SHUTDOWN_GRACE_SECONDS = 20.0
# The units of humantime 2.x, which parses the binaries' durations, in seconds.
DURATION_UNITS = {
    **dict.fromkeys(["nanos", "nsec", "ns"], 1e-9),
    **dict.fromkeys(["usec", "us", "\u00b5s"], 1e-6),
    **dict.fromkeys(["millis", "msec", "ms"], 1e-3),
    **dict.fromkeys(["seconds", "second", "secs", "sec", "s"], 1),
    **dict.fromkeys(["minutes", "minute", "min", "mins", "m"], 60),
    **dict.fromkeys(["hours", "hour", "hr", "hrs", "h"], 3600),
    **dict.fromkeys(["days", "day", "d"], 86400),
    **dict.fromkeys(["weeks", "week", "wk", "wks", "w"], 7 * 86400),
    **dict.fromkeys(["months", "month", "M"], 30.44 * 86400),
    **dict.fromkeys(["years", "year", "yr", "yrs", "y"], 365.25 * 86400),
}


def parse_duration(text):
    """Return a humantime duration such as "20s" or "1m 30s" in seconds, or raise ValueError."""
    parts = re.findall(r"(\d+)\s*([^\d\s]+)", text)
    if not parts or re.sub(r"\d+\s*[^\d\s]+", "", text).strip():
        raise ValueError(f"{text!r} is not a duration such as \"20s\"")
    total = 0.0
    for number, unit in parts:
        if unit not in DURATION_UNITS:
            raise ValueError(f"{text!r} has the unknown unit {unit!r}")
        total += int(number) * DURATION_UNITS[unit]
    return total


def apply_environment(config, env):
    """Override config keys with literal DOCSEARCH__SECTION__KEY values from a container's env list."""
    for variable in env:
        name = variable.get("name", "")
        if name.startswith(ENV_PREFIX) and "value" in variable:
            keys = name[len(ENV_PREFIX):].lower().split("__")
            section = config
            for key in keys[:-1]:
                section = section.setdefault(key, {})
            section[keys[-1]] = variable["value"]


def check_container(deployment, pod_spec, container, config_maps):
    """Yield a message for each check that the container fails."""
    where = f"Deployment {deployment} container {container['name']}"
    args = container.get("args", []) + container.get("command", [])
    config_path = args[args.index("--config") + 1]
    config_dir, _, config_key = config_path.rpartition("/")

    mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
    volumes = {volume["name"]: volume for volume in pod_spec.get("volumes", [])}
    volume = volumes.get(mounts.get(config_dir, ""), {})
    config_map = config_maps.get(volume.get("configMap", {}).get("name"))
    if config_map is None or config_key not in config_map.get("data", {}):
        yield f"{where}: {config_path} is not a key of a ConfigMap mounted at {config_dir}"
        return
    try:
        config = tomllib.loads(config_map["data"][config_key])
    except tomllib.TOMLDecodeError as error:
        yield f"{where}: {config_path} is invalid TOML: {error}"
        return
    if "url" in config.get("redis", {}):
        yield f"{where}: redis.url is in the ConfigMap; set DOCSEARCH__REDIS__URL from a Secret instead"
    env = container.get("env", [])
    apply_environment(config, env)
    server = config.get("server", {})

    grpc_ports = [port["containerPort"] for port in container.get("ports", []) if port.get("name") == "grpc"]
    listen_addr = str(server.get("listen_addr", ""))
    host, _, port = listen_addr.rpartition(":")
    if host not in ("0.0.0.0", "[::]"):
        yield f"{where}: server.listen_addr is {listen_addr!r}; use 0.0.0.0:PORT so that other pods reach it"
    if not grpc_ports or not port.isdigit() or int(port) != grpc_ports[0]:
        yield f"{where}: server.listen_addr {listen_addr!r} does not use the container port named grpc {grpc_ports}"
    readiness_port = container.get("readinessProbe", {}).get("grpc", {}).get("port")
    if readiness_port is None or readiness_port not in grpc_ports:
        yield f"{where}: the readiness probe is not a gRPC probe on the grpc port {grpc_ports}"

    try:
        grace = parse_duration(str(server["shutdown_grace_period"])) if "shutdown_grace_period" in server \
            else DEFAULT_SHUTDOWN_GRACE_SECONDS
    except ValueError as error:
        yield f"{where}: server.shutdown_grace_period: {error}"
        grace = DEFAULT_SHUTDOWN_GRACE_SECONDS
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    termination = pod_spec.get("terminationGracePeriodSeconds", 30)
    if termination <= pre_stop + grace:
        yield (f"{where}: terminationGracePeriodSeconds {termination} must exceed the preStop sleep "
               f"({pre_stop} s) plus server.shutdown_grace_period ({grace:g} s)")

    log_format = config.get("telemetry", {}).get("log_format", "text")
    if log_format != "json":
        yield f"{where}: telemetry.log_format is {log_format!r}; use \"json\" for log collectors"

    url_sources = [variable for variable in env if variable.get("name") == ENV_PREFIX + "REDIS__URL"]
    if not url_sources or "secretKeyRef" not in url_sources[-1].get("valueFrom", {}):
        yield f"{where}: DOCSEARCH__REDIS__URL must come from a Secret (valueFrom.secretKeyRef)"

    model_dir = config.get("embedding", {}).get("model_dir")
    if model_dir is not None and model_dir.rstrip("/") not in mounts:
        yield f"{where}: embedding.model_dir {model_dir!r} is not a volume mount of the container"


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} RENDERED.yaml")
    with open(sys.argv[1], encoding="utf-8") as file:
        documents = [document for document in yaml.safe_load_all(file) if document]
    config_maps = {
        document["metadata"]["name"]: document for document in documents if document.get("kind") == "ConfigMap"
    }
    failures = []
    checked = 0
    for document in documents:
        if document.get("kind") != "Deployment":
            continue
        pod_spec = document["spec"]["template"]["spec"]
        for container in pod_spec.get("containers", []):
            if "--config" in container.get("args", []) + container.get("command", []):
                checked += 1
                failures.extend(check_container(document["metadata"]["name"], pod_spec, container, config_maps))
    for failure in failures:
        print(failure)
    if checked == 0:
        print(f"{sys.argv[1]} contains no Deployment with a container that runs with --config")
        sys.exit(1)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
