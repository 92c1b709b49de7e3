"""What launch/pinet.launch.py decides, as plain functions (no `launch` import), so that it is tested here
where the `launch` package cannot be installed.

- `node_parameters`: the params file, then only the launch arguments the user actually set, so that a
  user's `params_file:=my.yaml` holding `backend: 3dmppe` is not overridden by a launch default.
- `dds_profile_environment`: the package's Fast DDS profile, unless the user already chose one (either the
  Fast DDS 2 name `FASTRTPS_DEFAULT_PROFILES_FILE` or the Fast DDS 3 name `FASTDDS_DEFAULT_PROFILES_FILE`).
- `namespaced_rviz_config`: the RViz config with its topics moved under the node's namespace.
- `require_executable`: a clear error before anything starts when `rviz:=true` and rviz2 is missing.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["DDS_PROFILE_VARIABLES", "LaunchError", "dds_profile_environment", "namespaced_rviz_config",
           "node_parameters", "normalise_namespace", "require_executable"]

DDS_PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
"""Fast DDS 2.x reads the first, Fast DDS 3.x (ROS 2 Kilted and later) the second."""


class LaunchError(RuntimeError):
    """The launch description cannot be built; the message says why and what to do."""


def node_parameters(params_file: str, overrides: Mapping[str, str]) -> list[Any]:
    """The `parameters=` list of the node: `params_file`, then a dict of the overrides that are not empty,
    each converted to its parameter's type (launch arguments are strings; "true" must reach a bool parameter
    as a bool).

    Args:
        params_file: path of the YAML parameter file.
        overrides: launch argument values by parameter name ("" = not set by the user).
    Raises:
        LaunchError: `params_file` does not exist, or a value is not valid for its parameter.
    """
    from pinet_ros import params as P

    if not Path(params_file).is_file():
        raise LaunchError(f"params_file {params_file!r} does not exist")
    chosen: dict[str, Any] = {}
    for name, text in overrides.items():
        if text == "":
            continue
        spec = P.SPECS[name]
        value: Any = text
        if spec.type is bool:
            if text.lower() not in ("true", "false"):
                raise LaunchError(f"{name}:={text!r} must be true or false")
            value = text.lower() == "true"
        elif spec.type in (int, float):
            try:
                value = spec.type(text)
            except ValueError:
                raise LaunchError(f"{name}:={text!r} is not a {spec.type.__name__}") from None
        reason = spec.validate(value)
        if reason:
            raise LaunchError(reason)
        chosen[name] = value
    return [params_file, chosen] if chosen else [params_file]


def dds_profile_environment(environ: Mapping[str, str], package_profile: str) -> dict[str, str]:
    """Environment variables to set so that large images pass Fast DDS: both profile variables pointing at
    `package_profile`, or nothing when the user already set either one (their profile is kept)."""
    if any(environ.get(name) for name in DDS_PROFILE_VARIABLES):
        return {}
    return {name: package_profile for name in DDS_PROFILE_VARIABLES}


def normalise_namespace(namespace: str) -> str:
    """"cam1", "/cam1/", "/robot//cam1" -> "/cam1", "/robot/cam1"; "" or "/" -> ""."""
    parts = [p for p in namespace.strip().split("/") if p]
    for p in parts:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p):
            raise LaunchError(f"namespace {namespace!r}: {p!r} is not a valid ROS name token")
    return "/" + "/".join(parts) if parts else ""


def namespaced_rviz_config(text: str, namespace: str, node_name: str = "pinet") -> str:
    """The RViz config `text` with every `/<node_name>/...` topic moved to `<namespace>/<node_name>/...`."""
    ns = normalise_namespace(namespace)
    if not ns:
        return text
    return re.sub(rf"(Value:\s*)/{re.escape(node_name)}/", rf"\g<1>{ns}/{node_name}/", text)


def require_executable(package: str, executable: str, hint: str = "") -> str:
    """The path of `executable` of ROS package `package` (as `ros2 run` finds it: `<prefix>/lib/<package>/`),
    or LaunchError saying it is missing, so that the launch fails before anything is started.

    Raises:
        LaunchError: the package is not in the ament index or has no such executable.
    """
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:  # not a ROS environment at all
        raise LaunchError(f"{package} cannot be looked up: ament_index_python is not installed") from None
    why = f"; {hint}" if hint else ""
    try:
        prefix = get_package_prefix(package)
    except PackageNotFoundError:
        raise LaunchError(f"{package} is not installed (not found in AMENT_PREFIX_PATH){why}") from None
    path = Path(prefix) / "lib" / package / executable
    if not (path.is_file() and os.access(path, os.X_OK)):
        found = shutil.which(executable)
        if found is None:
            raise LaunchError(f"{package} has no executable {executable} ({path} missing){why}")
        return found
    return str(path)
