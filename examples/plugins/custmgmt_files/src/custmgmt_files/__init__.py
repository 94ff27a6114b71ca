"""custmgmt-files: an example third-party custmgmt plugin.

It offers two adapters through custmgmt's hooks:

- the ``jsonl`` notifier appends each notification as one JSON line to a file
  (option ``path``), and honours the idempotency key: a notification whose key
  is already in the file is not written again;
- the ``toml-roles`` authorizer reads who holds which role, and what each role
  may do, from a TOML file (option ``path``).

Select them with ``custmgmt.Settings(notifier="jsonl", authorizer="toml-roles",
plugins={"jsonl": {"path": ...}, "toml-roles": {"path": ...}})``.
"""

from __future__ import annotations

from collections.abc import Sequence

from custmgmt.plugins import hookimpl
from custmgmt.ports.hookspecs import AuthorizerBackend, NotifierBackend
from custmgmt_files.authorizer import TomlRolesAuthorizer, create_authorizer
from custmgmt_files.notifier import JsonLinesNotifier, create_notifier

__all__ = ["JsonLinesNotifier", "TomlRolesAuthorizer"]


@hookimpl
def custmgmt_notifiers() -> Sequence[NotifierBackend]:
    return (NotifierBackend(name="jsonl", create=create_notifier),)


@hookimpl
def custmgmt_authorizers() -> Sequence[AuthorizerBackend]:
    return (AuthorizerBackend(name="toml-roles", create=create_authorizer),)
