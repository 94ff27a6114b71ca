"""Plugin configuration: Settings.plugins and URL query options, read and checked by plugins."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

import custmgmt
from custmgmt.errors import ValidationError
from custmgmt.plugins import hookimpl
from custmgmt.ports.hookspecs import NotifierBackend
from custmgmt.ports.options import PluginOptions


def test_typed_readers_convert_text_and_keep_defaults() -> None:
    options = PluginOptions("sms", {"port": "25", "tls": "yes", "rate": "2.5", "name": "x",
                                    "mode": "fast", "dir": "/tmp"})
    assert options.integer("port") == 25
    assert options.boolean("tls") is True
    assert options.number("rate") == 2.5
    assert options.text("name") == "x"
    assert options.choice("mode", ["fast", "slow"]) == "fast"
    assert options.path("dir") == Path("/tmp")
    assert options.integer("missing", 7) == 7 and options.text("absent", None) is None
    options.finish()


@pytest.mark.parametrize(("values", "read", "message"), [
    ({}, lambda o: o.required_text("host"), "is required"),
    ({"port": "x"}, lambda o: o.integer("port"), "whole number"),
    ({"port": True}, lambda o: o.integer("port"), "whole number"),
    ({"port": 0}, lambda o: o.integer("port", minimum=1), "at least 1"),
    ({"port": 99}, lambda o: o.integer("port", maximum=10), "at most 10"),
    ({"tls": "perhaps"}, lambda o: o.boolean("tls"), "true or false"),
    ({"rate": "nan"}, lambda o: o.number("rate"), "finite"),
    ({"mode": "odd"}, lambda o: o.choice("mode", ["fast"]), "one of fast"),
    ({"name": 5}, lambda o: o.text("name"), "must be text"),
])
def test_a_bad_option_is_a_validation_error_naming_it(
    values: dict[str, object], read: object, message: str
) -> None:
    options = PluginOptions("sms", values)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as raised:
        read(options)  # type: ignore[operator]
    assert raised.value.field.startswith("plugins.sms.") and message in raised.value.message


def test_an_option_nobody_read_is_refused_as_a_typo() -> None:
    options = PluginOptions("sms", {"host": "h", "hots": "typo"})
    options.text("host")
    with pytest.raises(ValidationError) as raised:
        options.finish()
    assert raised.value.field == "plugins.sms.hots"


def test_storage_url_query_parameters_are_options() -> None:
    options = PluginOptions.from_url("mydb", "mydb://host/crm?pool=5&ssl=on")
    assert options.integer("pool") == 5 and options.boolean("ssl") is True
    options.finish()
    with pytest.raises(ValidationError) as raised:
        PluginOptions.from_url("mydb", "mydb://host/crm?pool=x").integer("pool")
    assert raised.value.field == "url.pool"
    with pytest.raises(ValidationError):
        PluginOptions.from_url("mydb", "mydb://h/c?pool=1&pool=2")


def test_options_never_show_their_values() -> None:
    assert "s3cret" not in repr(PluginOptions("smtp", {"password": "s3cret"}))
    settings = custmgmt.Settings(plugins={"smtp": {"password": "s3cret"}})
    assert "password" in repr(settings.options("smtp"))


@pytest.mark.parametrize("plugins", [
    "smtp", {"smtp": "host=x"}, {"": {}}, {"smtp": {"host": ["a", "b"]}}, {"smtp": {1: "x"}},
])
def test_settings_refuse_malformed_plugin_options(plugins: object) -> None:
    with pytest.raises(ValidationError) as raised:
        custmgmt.Settings(plugins=plugins)  # type: ignore[arg-type]
    assert raised.value.field.startswith("plugins")


class Careless:
    """A plugin whose factory fails its own way on a bad option."""

    @hookimpl
    def custmgmt_notifiers(self) -> Sequence[NotifierBackend]:
        def create(settings: custmgmt.Settings) -> object:
            return int(settings.plugins["careless"]["level"])  # ValueError on "high"

        return (NotifierBackend(name="careless", create=create),)  # type: ignore[arg-type]


def test_a_plugin_that_refuses_options_its_own_way_still_surfaces_a_validation_error() -> None:
    settings = custmgmt.Settings(notifier="careless", plugins={"careless": {"level": "high"}})
    with pytest.raises(ValidationError) as raised:
        custmgmt.open("memory://", settings=settings, plugins=[Careless()])
    assert raised.value.field == "plugins.careless"


def test_plugin_options_in_settings_are_frozen_hashable_and_kept_out_of_repr() -> None:
    settings = custmgmt.Settings(plugins={"webhook": {"url": "https://hooks.local/x",
                                                      "secret": "s3cret-signing-key"}})
    same = custmgmt.Settings(plugins={"webhook": {"secret": "s3cret-signing-key",
                                                  "url": "https://hooks.local/x"}})
    assert settings == same and hash(settings) == hash(same)
    assert settings.options("webhook").text("secret") == "s3cret-signing-key"
    with pytest.raises(TypeError):
        settings.plugins["webhook"]["secret"] = "other"  # type: ignore[index]
    shown = repr(settings)
    assert "s3cret" not in shown and "hooks.local" not in shown
    assert "'webhook': ['secret', 'url']" in shown
