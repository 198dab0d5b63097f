"""The checks Saleor's installer runs on an app manifest, per release line, against that line's schema.

Rules mirror `saleor/app/manifest_validations.py` (and 3.23's `manifest_schema.py`) of the 3.22 and 3.23 branches:
required fields, URL formats, permissions and event names that exist in that schema, extension targets, mounts,
URLs and permissions, webhook subscriptions that Saleor accepts, and a `requiredSaleorVersion` that matches.

Stricter than Saleor on purpose, because each is a real bug for an app: a webhook's declared events must equal the
events its subscription selects (Saleor would silently send payloads the query never shapes, or never send ones it
does); webhook target URLs must be http(s); on 3.23 mounts and targets are checked against the 3.22 enums plus
`HOMEPAGE_WIDGETS` (3.23 stores any string, but the dashboard renders only those).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from graphql import GraphQLEnumType, GraphQLSchema, parse

from .events import covered_event_types, event_enum_value, event_type_name, root_fields, subscription_operation
from .schemas import document_errors, load_schema
from .versions import SALEOR_RELEASES, satisfies

GIFT_CARD_GATEWAY_ID = "saleor.io.gift-card-payment-gateway"
IDENTIFIER_MAX_LENGTH = 256
_TARGETS_3_22 = ("POPUP", "APP_PAGE", "NEW_TAB", "WIDGET")
_HOST = re.compile(
    r"^(localhost|[a-z0-9\u00a1-\uffff]([a-z0-9\u00a1-\uffff-]{0,61}[a-z0-9\u00a1-\uffff])?"
    r"(\.[a-z0-9\u00a1-\uffff]([a-z0-9\u00a1-\uffff-]{0,61}[a-z0-9\u00a1-\uffff])?)*\.?|"
    r"\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$",
    re.IGNORECASE,
)


class InvalidManifest(AssertionError):
    """A manifest that the given Saleor version's installer would refuse."""

    def __init__(self, version: str, errors: list[str]) -> None:
        self.version = version
        self.errors = errors
        super().__init__(f"Saleor {version} would refuse this manifest:\n" + "\n".join(f"  - {e}" for e in errors))


def is_valid_url(url: object, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    """An absolute URL of an allowed scheme with a host (Saleor accepts hosts without a TLD, like `localhost`)."""
    if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
        return False
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        return False
    hostname = parsed.netloc.rsplit("@", 1)[-1]
    if port is not None:
        hostname = hostname.rsplit(":", 1)[0]
    return parsed.scheme.lower() in schemes and bool(hostname) and bool(_HOST.match(hostname))


def _enum_values(schema: GraphQLSchema, name: str) -> set[str] | None:
    enum = schema.get_type(name)
    return set(enum.values) if isinstance(enum, GraphQLEnumType) else None


def _mounts(schema: GraphQLSchema) -> set[str]:
    return _enum_values(schema, "AppExtensionMountEnum") or (
        (_enum_values(load_schema("3.22"), "AppExtensionMountEnum") or set()) | {"HOMEPAGE_WIDGETS"}
    )


def manifest_errors(manifest: Mapping[str, Any], version: str) -> list[str]:
    """Every reason Saleor `version` (`"3.22"` / `"3.23"`) would refuse to install `manifest`."""
    schema = load_schema(version)
    errors: list[str] = []
    required = ["id", "version", "name"] + (["tokenTargetUrl"] if version == "3.22" else [])
    errors += [f"{field}: field required" for field in required if not isinstance(manifest.get(field), str)]
    token_target = manifest.get("tokenTargetUrl")
    if token_target is not None and not is_valid_url(token_target):
        errors.append(f"tokenTargetUrl: invalid URL {token_target!r}")
    if manifest.get("appUrl") is not None and not is_valid_url(manifest["appUrl"]):
        errors.append(f"appUrl: invalid URL {manifest['appUrl']!r}")
    if version != "3.22" and manifest.get("id") == GIFT_CARD_GATEWAY_ID:
        errors.append("id: this identifier is reserved")
    errors += _version_errors(manifest.get("requiredSaleorVersion"), version)
    author = manifest.get("author")
    if author is not None and not (isinstance(author, str) and author.strip()):
        errors.append("author: must be a non-empty string")
    errors += _brand_errors(manifest.get("brand"))
    permissions = manifest.get("permissions") or []
    known_permissions = _enum_values(schema, "PermissionEnum") or set()
    errors += [
        f"permissions: {p!r} is not a Saleor {version} permission" for p in permissions if p not in known_permissions
    ]
    if errors:
        return errors  # Saleor checks extensions and webhooks only once the basics hold
    for index, extension in enumerate(manifest.get("extensions") or []):
        errors += [f"extensions[{index}]: {e}" for e in _extension_errors(extension, manifest, schema, version)]
    for index, webhook in enumerate(manifest.get("webhooks") or []):
        errors += [f"webhooks[{index}]: {e}" for e in _webhook_errors(webhook, schema, version)]
    if version != "3.22":  # identifiers arrived in 3.23
        errors += _identifier_errors(manifest.get("extensions") or [], "extensions")
        errors += _identifier_errors(manifest.get("webhooks") or [], "webhooks")
    return errors


def validate_manifest(manifest: Mapping[str, Any], version: str) -> None:
    """Raise `InvalidManifest` unless Saleor `version` would install `manifest`."""
    errors = manifest_errors(manifest, version)
    if errors:
        raise InvalidManifest(version, errors)


def _version_errors(spec: object, version: str) -> list[str]:
    if not spec:
        return []
    release = SALEOR_RELEASES[version]
    try:
        matched = satisfies(release, str(spec))
    except ValueError:
        return [f"requiredSaleorVersion: cannot parse {spec!r}"]
    return [] if matched else [f"requiredSaleorVersion: {spec!r} excludes Saleor {release}"]


def _brand_errors(brand: object) -> list[str]:
    if brand is None:
        return []
    logo = brand.get("logo") if isinstance(brand, Mapping) else None
    url = logo.get("default") if isinstance(logo, Mapping) else None
    if url is None:
        return ["brand: missing logo.default"]
    if not is_valid_url(url, ("http", "https", "ftp", "ftps")):
        return ["brand: logo.default is not a valid URL"]
    if mimetypes.guess_type(str(url))[0] != "image/png":
        return ["brand: logo.default must be a PNG"]
    return []


def _extension_errors(
    extension: Mapping[str, Any], manifest: Mapping[str, Any], schema: GraphQLSchema, version: str
) -> list[str]:
    missing = [f for f in ("label", "url", "mount") if f not in extension]
    if missing:
        return [f"missing required fields: {', '.join(missing)}"]
    errors: list[str] = []
    target = str(extension.get("target", "POPUP")).upper()
    mount = str(extension["mount"]).upper()
    if target not in (_enum_values(schema, "AppExtensionTargetEnum") or set(_TARGETS_3_22)):
        errors.append(f"target {target!r} is not valid")
    if mount not in _mounts(schema):
        errors.append(f"mount {mount!r} is not valid on Saleor {version}")
    if target == "WIDGET" and not mount.endswith("_WIDGETS"):
        errors.append(f"mount {mount} is not available for the WIDGET target")
    errors += _extension_url_errors(str(extension["url"]), target, manifest, version)
    app_permissions = set(manifest.get("permissions") or [])
    for permission in extension.get("permissions") or []:
        if permission not in app_permissions:
            errors.append(f"permission {permission!r} must also be one of the app's permissions")
    options = extension.get("options") or {}
    if "widgetTarget" in options and target != "WIDGET":
        errors.append("options.widgetTarget is only for the WIDGET target")
    if "newTabTarget" in options and target != "NEW_TAB":
        errors.append("options.newTabTarget is only for the NEW_TAB target")
    return errors


def _extension_url_errors(url: str, target: str, manifest: Mapping[str, Any], version: str) -> list[str]:
    if version != "3.22":
        if url.startswith("/"):
            return [] if manifest.get("appUrl") else ["a relative url needs appUrl in the manifest"]
        return [] if is_valid_url(url) else [f"url {url!r} is not valid"]
    if url.startswith("/"):
        if target == "APP_PAGE" or manifest.get("appUrl"):
            return []
        return [f"a relative url with target {target} needs appUrl (only APP_PAGE may go without)"]
    if target == "APP_PAGE":
        return ["on Saleor 3.22 an APP_PAGE url must be relative (start with /)"]
    return [] if is_valid_url(url) else [f"url {url!r} is not valid"]


def _webhook_errors(webhook: Mapping[str, Any], schema: GraphQLSchema, version: str) -> list[str]:
    missing = [f for f in ("name", "targetUrl", "query") if f not in webhook]
    if missing:
        return [f"missing required fields: {', '.join(missing)}"]
    errors: list[str] = []
    if not isinstance(webhook.get("isActive", True), bool):
        errors.append("isActive must be a boolean")
    if not is_valid_url(webhook["targetUrl"]):
        errors.append(f"targetUrl {webhook['targetUrl']!r} is not an absolute http(s) URL")
    declared: set[str] = set()
    for key, enum_name in (("asyncEvents", "WebhookEventTypeAsyncEnum"), ("syncEvents", "WebhookEventTypeSyncEnum")):
        known = _enum_values(schema, enum_name) or set()
        for name in webhook.get(key) or []:
            if name not in known:
                errors.append(f"{key}: {name!r} is not a Saleor {version} {enum_name} value")
            declared.add(name)
    query = str(webhook["query"])
    query_errors = document_errors(query, version)
    if query_errors:
        return [*errors, *(f"query is not valid: {e.message}" for e in query_errors)]
    try:
        operation = subscription_operation(parse(query))
    except AssertionError as error:
        return [*errors, f"query: {error}"]
    names = [field.name.value for field in root_fields(operation)]
    if len(names) != 1 and set(names) != {"event"}:
        return [*errors, "query: a subscription must select only one top field"]
    covered = covered_event_types(schema, parse(query))
    if not covered:
        return [*errors, "query: no event type is selected (add `... on <Event> { }` under `event`)"]
    if declared:
        errors += _event_match_errors(declared, covered)
    return errors


def _event_match_errors(declared: set[str], covered: set[str]) -> list[str]:
    errors = [
        f"event {name} has no `... on {event_type_name(name)}` in the query"
        for name in sorted(declared)
        if event_type_name(name) not in covered
    ]
    declared_types = {event_type_name(name) for name in declared}
    errors += [
        f"the query selects {type_name} but {event_enum_value(type_name)} is not declared"
        for type_name in sorted(covered - declared_types)
    ]
    return errors


def _identifier_errors(items: list[Mapping[str, Any]], key: str) -> list[str]:
    seen: set[str] = set()
    errors: list[str] = []
    for item in items:
        identifier = str(item.get("identifier") or "").strip()
        if not identifier:
            continue
        if len(identifier) > IDENTIFIER_MAX_LENGTH:
            errors.append(f"{key}: identifier longer than {IDENTIFIER_MAX_LENGTH} characters")
        elif identifier in seen:
            errors.append(f"{key}: duplicate identifier {identifier!r}")
        seen.add(identifier)
    return errors
