class RmaError(Exception):
    """Anything wrong with an RMA query: syntax, unknown names, unsupported features.

    `position` is the 0-based character offset into the query text (or into the URL
    parameter named at the start of the message), or None when no single place is at fault.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"{self.message} at character {self.position}"
