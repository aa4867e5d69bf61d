"""Every exception crossdock defines sits under its service's root, and each tree is drawn."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import crossdock
from crossdock.core.errors import CrossdockError
from crossdock.gateway.errors import GatewayError
from crossdock.gitslice.errors import GitSliceError
from crossdock.webhooks.errors import WebhooksError

ROOTS: dict[str, type[CrossdockError]] = {
    "core": CrossdockError,
    "gateway": GatewayError,
    "gitslice": GitSliceError,
    "webhooks": WebhooksError,
}


def _modules() -> list[ModuleType]:
    names = [info.name for info in pkgutil.walk_packages(crossdock.__path__, "crossdock.")
             if not info.name.endswith("__main__")]  # importing it runs the command
    return [importlib.import_module(name) for name in names]


def _exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in _modules():
        for value in vars(module).values():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


EXCEPTIONS = _exceptions()


def test_the_walk_finds_the_exceptions_of_every_service() -> None:
    services = {cls.__module__.split(".")[1] for cls in EXCEPTIONS}
    assert services == set(ROOTS)


@pytest.mark.parametrize("exception", EXCEPTIONS, ids=lambda cls: cls.__qualname__)
def test_every_exception_derives_from_its_service_root(exception: type[BaseException]) -> None:
    """``except WebhooksError`` (or the service's root) catches all the service raises."""
    root = ROOTS[exception.__module__.split(".")[1]]
    assert issubclass(exception, root), f"{exception.__module__}.{exception.__qualname__}"


@pytest.mark.parametrize("root", ROOTS.values(), ids=lambda cls: cls.__qualname__)
def test_every_service_root_derives_from_the_crossdock_root(root: type[CrossdockError]) -> None:
    assert issubclass(root, CrossdockError)


ERRORS_MODULES = sorted(module.__name__ for module in _modules()
                        if module.__name__.endswith(".errors"))


def test_every_service_has_an_errors_module() -> None:
    assert {f"crossdock.{service}.errors" for service in ROOTS} <= set(ERRORS_MODULES)


@pytest.mark.parametrize("name", ERRORS_MODULES)
def test_each_errors_module_draws_every_class_in_its_tree(name: str) -> None:
    module = importlib.import_module(name)
    tree = module.__doc__ or ""
    defined = [name for name, value in vars(module).items()
               if inspect.isclass(value) and issubclass(value, BaseException)
               and value.__module__ == module.__name__]
    assert defined
    assert [name for name in defined if name not in tree] == []


def test_an_error_without_a_message_says_its_docstring() -> None:
    assert str(WebhooksError()) == "Something went wrong in the webhooks service."


@pytest.mark.parametrize("service", ["gateway", "gitslice", "webhooks"])
def test_only_a_services_store_imports_the_database_driver(service: str) -> None:
    """Stores translate the driver's errors, so no other module of a service can see them
    (a store grown into a ``store/`` package keeps the driver inside it)."""
    folder = Path(crossdock.__file__).parent / service
    importers = sorted(
        str(path.relative_to(folder)) for path in folder.rglob("*.py")
        if path.name != "store.py" and "store" not in path.relative_to(folder).parts[:-1]
        and re.search(r"^\s*(import psycopg|from psycopg)", path.read_text(), re.MULTILINE))
    assert importers == []


def test_public_exceptions_live_in_errors_modules_where_their_tree_is_drawn() -> None:
    """Only a module's private signals (``_Name``) are defined beside the code raising them."""
    elsewhere = [f"{cls.__module__}.{cls.__qualname__}" for cls in EXCEPTIONS
                 if not cls.__module__.endswith(".errors") and not cls.__name__.startswith("_")]
    assert elsewhere == []
