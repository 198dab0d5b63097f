"""Relay-style global ids: ``base64("Type:pk")``, as Saleor's, so storefronts treat ours the same way."""

import base64

from graphql import GraphQLError


def global_id(type_name: str, pk: object) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_global_id(value: str, type_name: str) -> int:
    try:
        decoded = base64.b64decode(value.encode(), validate=True).decode()
        name, _, pk = decoded.partition(":")
        if name != type_name:
            raise ValueError(name)
        return int(pk)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphQLError(f"not a {type_name} id: {value!r}", extensions={"code": "INVALID"}) from exc
