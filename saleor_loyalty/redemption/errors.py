"""Why a redemption was refused; codes are the API's ``LoyaltyErrorCode`` values."""


class RedemptionError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
