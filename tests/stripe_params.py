"""Checking a request's parameters against the stripe library's own typed parameters, as Stripe would.

stripe-python ships a TypedDict for every endpoint's parameters (``stripe.params.RefundCreateParams``,
``stripe.params.checkout.SessionCreateParams``, …), generated from Stripe's OpenAPI spec. The test server
(tests/stripe_server.py) runs each request it knows through ``check`` before localstripe or the stand-in sees it:
an unknown parameter, a missing required one, or a value of the wrong type is answered with Stripe's 400 error
shape. Values arrive form-encoded, so everything is a string on the wire: an ``int`` must read as an integer, a
``bool`` as ``true``/``false``, a ``Literal`` must be one of its values.

What this cannot check: rules Stripe enforces beyond the types (one of two parameters required, values depending
on the mode, limits on lengths); the stand-in checks the few it needs by hand.
"""

import functools
import re
import typing
from decimal import Decimal, InvalidOperation
from typing import Any

import typing_extensions
from stripe._request_options import RequestOptions
from stripe._stripe_object import UntypedStripeObject

_REQUEST_OPTIONS = set(RequestOptions.__annotations__)
_INTEGER = re.compile(r"-?[0-9]+")


class InvalidParams(Exception):
    """Stripe's answer to a request whose parameters are wrong: 400, ``invalid_request_error``."""

    def __init__(self, code: str, param: str, message: str) -> None:
        super().__init__(message)
        self.code, self.param, self.message = code, param, message

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "type": "invalid_request_error",
                "code": self.code,
                "param": self.param,
                "message": self.message,
                "doc_url": f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}",
            }
        }


@functools.cache
def _hints(params_class: type) -> tuple[dict[str, Any], frozenset[str]]:
    """The class's own parameters and their types (the request options it inherits are not parameters)."""
    own = {k: v for k, v in params_class.__annotations__.items() if k not in _REQUEST_OPTIONS}
    holder = type("Hints", (), {"__annotations__": own, "__module__": params_class.__module__})
    required = frozenset(getattr(params_class, "__required_keys__", frozenset()) - _REQUEST_OPTIONS)
    return typing.get_type_hints(holder), required


def check(params_class: type, data: Any) -> None:
    """Raise ``InvalidParams`` unless ``data`` (decoded form parameters) fits ``params_class``."""
    _check_object(params_class, data if data is not None else {}, "")


def _check_object(params_class: type, data: Any, path: str) -> None:
    if not isinstance(data, dict):
        raise InvalidParams("parameter_invalid", path, f"Invalid object: {path} must be a hash")
    hints, required = _hints(params_class)
    for name in sorted(required - set(data)):
        param = _join(path, name)
        raise InvalidParams("parameter_missing", param, f"Missing required param: {param}.")
    for name, value in data.items():
        param = _join(path, name)
        if name not in hints:
            raise InvalidParams("parameter_unknown", param, f"Received unknown parameter: {param}")
        if not _fits(hints[name], value, param):
            raise InvalidParams("parameter_invalid", param, f"Invalid value for {param}: {_describe(hints[name])}")


def _fits(annotation: Any, value: Any, path: str) -> bool:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        literals = [a for a in args if typing.get_origin(a) is typing.Literal]
        others = [a for a in args if typing.get_origin(a) is not typing.Literal]
        # ``Literal['a', 'b'] | str`` is the SDK leaving room for values Stripe adds later; Stripe itself accepts
        # only the listed ones. ``Literal[''] | X`` is "empty string unsets": then str means any string.
        enum = [v for literal in literals for v in typing.get_args(literal)]
        if any(v != "" for v in enum):
            others = [a for a in others if a is not str]
        if value in enum:
            return True
        return any(_fits_quietly(a, value, path) for a in others)
    if origin is typing.Literal:
        return value in args
    if origin in (list, typing.List):  # noqa: UP006 - get_origin gives list for both
        return isinstance(value, list) and all(_fits(args[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if origin in (dict, typing.Dict) or origin is UntypedStripeObject:  # noqa: UP006
        # Dict[str, X], and UntypedStripeObject[X] (the SDK's type for metadata: a plain hash on the wire)
        return isinstance(value, dict) and all(
            isinstance(k, str) and _fits(args[-1], v, path) for k, v in value.items()
        )
    if typing_extensions.is_typeddict(annotation):
        _check_object(annotation, value, path)
        return True
    if annotation is str:
        return isinstance(value, str)
    if annotation is bool:
        return isinstance(value, bool) or value in ("true", "false")
    if annotation is int:
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and bool(_INTEGER.fullmatch(value))
        )
    if annotation in (float, Decimal):
        try:
            Decimal(str(value))
        except InvalidOperation:
            return False
        return not isinstance(value, bool | dict | list)
    return True  # Any, or a type this check does not know: left to the server


def _fits_quietly(annotation: Any, value: Any, path: str) -> bool:
    """A union branch that does not fit is not an error by itself: another branch may."""
    try:
        return _fits(annotation, value, path)
    except InvalidParams:
        return False


def _join(path: str, name: str) -> str:
    return f"{path}[{name}]" if path else name


def _describe(annotation: Any) -> str:
    if annotation is int:
        return "must be an integer"
    if annotation is bool:
        return "must be a boolean"
    branches = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Union else (annotation,)
    values = [v for a in branches if typing.get_origin(a) is typing.Literal for v in typing.get_args(a) if v != ""]
    if values:
        return "must be one of " + ", ".join(str(v) for v in values)
    names = dict.fromkeys(_name(a) for a in branches if typing.get_args(a) != ("",))
    return "must be " + " or ".join(names)


def _name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (dict, UntypedStripeObject) or typing_extensions.is_typeddict(annotation):
        return "a hash"
    if origin is list:
        return "an array"
    if origin is typing.Literal:
        return " or ".join(repr(v) for v in typing.get_args(annotation))
    return getattr(annotation, "__name__", str(annotation))
