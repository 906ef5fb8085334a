"""Ansible inventories as target hosts: YAML and INI, groups with children, and the
connection variables; malformed ones are clear errors, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from recoverctl.load.inventory import InventoryError, read_inventory

INI = """
# the fleet
[primary]
db-1 ansible_host=10.0.0.1 ansible_port=2222 ansible_user=pg foo=bar

[replicas]
db-2 ansible_host=10.0.0.2
db-3

[db:children]
primary
replicas

[db:vars]
ansible_user=postgres
"""

YAML = """
all:
  children:
    db:
      children:
        primary:
          hosts:
            db-1: {ansible_host: 10.0.0.1, ansible_port: 2222}
        replicas:
          hosts:
            db-2:
            db-3: {ansible_user: pg}
"""


@pytest.mark.parametrize(("name", "text"), [("hosts.ini", INI), ("hosts.yaml", YAML)])
def test_a_group_gives_its_hosts_in_order_with_their_connection_vars(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    hosts, hostvars = read_inventory(path, "db")
    assert hosts == ["db-1", "db-2", "db-3"]
    assert hostvars["db-1"]["ansible_host"] == "10.0.0.1"
    assert hostvars["db-1"]["ansible_port"] == "2222"
    assert "foo" not in hostvars["db-1"]  # only what a connection needs
    replicas, _ = read_inventory(path, "replicas")
    assert replicas == ["db-2", "db-3"]


def test_an_unknown_group_names_the_groups_there_are(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(INI)
    with pytest.raises(InventoryError, match="has no group 'web'; groups: db, primary"):
        read_inventory(path, "web")


@pytest.mark.parametrize(
    "text", ["all: [1, 2", "a: &a [*a, *a]\n", "!!python/object:os.system {}", "[]"]
)
def test_a_malformed_yaml_inventory_is_an_inventory_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(text)
    with pytest.raises(InventoryError):
        read_inventory(path, "db")


def test_a_missing_inventory_says_so(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="does not exist"):
        read_inventory(tmp_path / "nope.ini", None)
