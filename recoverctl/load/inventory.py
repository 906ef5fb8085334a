"""Ansible inventories (YAML or INI) as target hosts: the files teams already keep.

Only what a target needs is read: the hosts of a group (children included)
and the connection variables `ansible_host`, `ansible_port`, `ansible_user`.
The YAML goes through the same hardened loader as runbooks (no tags, no
alias bombs); the INI is read line by line, never evaluated.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from recoverctl.errors import RecoverctlError

CONNECTION_VARS = ("ansible_host", "ansible_port", "ansible_user")


class InventoryError(ValueError):
    """The inventory cannot give the hosts: missing, malformed, or without the group."""


def read_inventory(path: Path, group: str | None) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The hosts of `group` (all when None), in file order, and their connection variables."""
    if not path.is_file():
        raise InventoryError(f"inventory {path} does not exist")
    text = path.read_text(encoding="utf-8", errors="replace")
    stripped = text.lstrip()
    if path.suffix in (".yaml", ".yml") or stripped.startswith(("all:", "---")):
        groups, hostvars = _yaml(path)
    else:
        groups, hostvars = _ini(text)
    wanted = group or "all"
    if wanted == "all":
        hosts = list(hostvars)
    elif wanted not in groups:
        known = ", ".join(sorted(g for g in groups if g != "all")) or "none"
        raise InventoryError(f"inventory {path} has no group '{wanted}'; groups: {known}")
    else:
        hosts = _members(groups, wanted, set())
    return hosts, {host: hostvars.get(host, {}) for host in hosts}


def _members(groups: dict[str, dict[str, list[str]]], name: str, seen: set[str]) -> list[str]:
    if name in seen:
        return []
    seen.add(name)
    found: list[str] = list(groups.get(name, {}).get("hosts", []))
    for child in groups.get(name, {}).get("children", []):
        found += [h for h in _members(groups, child, seen) if h not in found]
    return found


def _yaml(path: Path) -> tuple[dict[str, dict[str, list[str]]], dict[str, dict[str, str]]]:
    from recoverctl.load.yaml_loader import load_file  # PyYAML only for a YAML inventory

    try:
        data = load_file(path).data
    except RecoverctlError as exc:
        raise InventoryError(f"inventory {path}: {exc.message}") from None
    groups: dict[str, dict[str, list[str]]] = {}
    hostvars: dict[str, dict[str, str]] = {}

    def visit(name: str, node: Any) -> None:
        entry = groups.setdefault(name, {"hosts": [], "children": []})
        if not isinstance(node, dict):
            return
        for host, vars_ in (node.get("hosts") or {}).items():
            entry["hosts"].append(str(host))
            own = hostvars.setdefault(str(host), {})
            if isinstance(vars_, dict):
                own.update({k: str(v) for k, v in vars_.items() if k in CONNECTION_VARS})
        for child, sub in (node.get("children") or {}).items():
            entry["children"].append(str(child))
            visit(str(child), sub)

    if not isinstance(data, dict):
        raise InventoryError(f"inventory {path}: expected a mapping of groups (all: ...)")
    for name, node in data.items():
        visit(str(name), node)
    return groups, hostvars


def _ini(text: str) -> tuple[dict[str, dict[str, list[str]]], dict[str, dict[str, str]]]:
    groups: dict[str, dict[str, list[str]]] = {"ungrouped": {"hosts": [], "children": []}}
    hostvars: dict[str, dict[str, str]] = {}
    section, kind = "ungrouped", "hosts"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            section, _, suffix = name.partition(":")
            kind = {"children": "children", "vars": "vars"}.get(suffix, "hosts")
            groups.setdefault(section, {"hosts": [], "children": []})
            continue
        if kind == "vars":
            continue
        words = shlex.split(line, posix=True)
        if not words:
            continue
        if kind == "children":
            groups[section]["children"].append(words[0])
            continue
        host = words[0]
        groups[section]["hosts"].append(host)
        own = hostvars.setdefault(host, {})
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if sep and key in CONNECTION_VARS:
                own[key] = value
    return groups, hostvars
