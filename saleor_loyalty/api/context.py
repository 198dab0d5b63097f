"""Who is calling: the shopper behind the ``Authorization: Bearer`` Saleor token, verified once per request."""

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from graphql import GraphQLError

from saleor_loyalty.installs.lookup import active_install
from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.custom_events import KEY_PREFIX, install_for_api_key
from saleor_loyalty.saleor.tokens import (
    DashboardUser,
    InvalidToken,
    Shopper,
    verify_dashboard_token,
    verify_shopper_token,
)


@dataclass
class RequestContext:
    request: HttpRequest
    _shopper: Shopper | None = None
    _error: InvalidToken | None = None
    _checked: bool = False
    cache: dict[str, Any] = field(default_factory=dict)

    def _authenticate(self) -> None:
        if self._checked:
            return
        self._checked = True
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            self._error = InvalidToken("sign in: send the shopper's Saleor token as a Bearer token", "UNAUTHENTICATED")
        elif scheme.lower() != "bearer" or not token.strip():
            self._error = InvalidToken("Authorization must be 'Bearer <token>'", "INVALID_TOKEN")
        else:
            try:
                self._shopper = verify_shopper_token(token.strip())
            except InvalidToken as exc:
                self._error = exc

    @property
    def shopper(self) -> Shopper | None:
        self._authenticate()
        return self._shopper

    def require_shopper(self) -> Shopper:
        """The verified shopper, or a GraphQL error with ``extensions.code`` saying why not."""
        self._authenticate()
        if self._shopper is None:
            error = self._error or InvalidToken("authentication required", "UNAUTHENTICATED")
            raise GraphQLError(str(error), extensions={"code": error.code})
        return self._shopper

    def public_install(self) -> Install:
        """The store a public read is about: the shopper's (when a token is sent), else the store named by the
        ``Saleor-Api-Url`` header, if it installed this app; else a GraphQL error."""
        shopper = self.shopper
        install = shopper.install if shopper else active_install(self.request.headers.get("Saleor-Api-Url"))
        if install is None:
            raise GraphQLError(
                "send a shopper token, or the Saleor-Api-Url of a store using this app",
                extensions={"code": "UNAUTHENTICATED"},
            )
        return install

    def require_server(self) -> Install:
        """The install whose server API key authenticates this request (for server-to-server mutations)."""
        scheme, _, key = self.request.headers.get("Authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key.startswith(KEY_PREFIX):
            raise GraphQLError("this needs a server API key (Bearer lsk_...)", extensions={"code": "UNAUTHENTICATED"})
        install = install_for_api_key(key)
        if install is None:
            raise GraphQLError("unknown or revoked API key", extensions={"code": "INVALID_TOKEN"})
        return install

    def require_staff(self, permission: str) -> DashboardUser:
        """The staff user behind a dashboard extension's token (Saleor's app token for this app, ``thirdparty``),
        holding ``permission``; else a GraphQL error. Shopper tokens never pass."""
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphQLError("this needs the dashboard's app token", extensions={"code": "UNAUTHENTICATED"})
        try:
            return verify_dashboard_token(token.strip(), required_permission=permission)
        except InvalidToken as exc:
            raise GraphQLError(str(exc), extensions={"code": exc.code}) from exc

    def member(self) -> Member:
        if "member" not in self.cache:
            shopper = self.require_shopper()
            self.cache["member"] = member_for_user(shopper.install, shopper.user_id, shopper.email)
        member: Member = self.cache["member"]
        return member
