"""Targets: the machines, pods and containers a step can run on (`on: <target>`).

A target is a list of hosts and a transport that reaches each one: `ssh` (the
system OpenSSH client), `kubectl` (exec into pods), `docker` (exec into
containers) or `command` (any argv prefix: SSM, nsenter, a site's own
wrapper). A step `on:` a target fans out over its hosts (engine/fanout.py);
its `run` commands, `wait_for` and `skip_if` checks run on each host through
the transport (actions/remote.py). `http` stays local.

The values here are templates, rendered per item when the step runs: hosts
may come from a list param, an inventory file or an earlier step's output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from recoverctl.model.source import Span
from recoverctl.model.text import Text


class Transport(StrEnum):
    SSH = "ssh"
    KUBECTL = "kubectl"
    DOCKER = "docker"
    COMMAND = "command"


HOST_LIST_KEY = {
    Transport.SSH: "hosts",
    Transport.KUBECTL: "pods",
    Transport.DOCKER: "containers",
    Transport.COMMAND: "hosts",
}
"""Under which key each transport lists what it reaches."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    transport: Transport
    span: Span
    hosts: Text | tuple[str, ...] | None
    """The hosts (pods, containers): written out, or a template giving a list."""
    options: tuple[tuple[str, Text], ...] = ()
    """The transport's settings (user, port, namespace, …), templates rendered per host."""
    argv: tuple[Text, ...] = ()
    """`command` only: the prefix each remote command is appended to."""
    inventory: Text | None = None
    """An Ansible inventory file (YAML or INI) the hosts come from, with `group`."""
    group: str | None = None

    def option(self, name: str) -> Text | None:
        return next((value for key, value in self.options if key == name), None)


SAFE_HOST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.%:-]*$")
"""A host name, an IPv4 or IPv6 address, `host:port`, a pod or container name: nothing a
client could read as an option (`-oProxyCommand=…`) or a shell as code (`;`, spaces)."""
SAFE_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
SAFE_WORD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/=-]*$")
"""A namespace, container, context or jump host (`[user@]host[:port]` with SAFE_JUMP)."""
SAFE_JUMP = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*@)?[A-Za-z0-9_][A-Za-z0-9_.%:-]*$")


def value_problem(what: str, value: str, pattern: re.Pattern[str]) -> str | None:
    """Why `value` cannot be the `what` of a target (it could become an option or code)."""
    if not value:
        return f"the {what} is empty"
    if value.startswith("-"):
        return f"the {what} {value!r} starts with '-' (a client would read it as an option)"
    if pattern.match(value) is None:
        bad = next((c for c in value if pattern.match(f"a{c}") is None), value[0])
        shown = {"\n": "a newline", " ": "a space", "\t": "a tab"}.get(bad, repr(bad))
        return f"the {what} {value!r} holds {shown}"
    return None
