class ScienceError(Exception):
    """Base class for errors raised by the science core."""


class InvalidFileError(ScienceError):
    """A data file (SWC, marker, NWB, JSON) could not be read.

    `where` names the line ("line 12") or the dataset ("/epochs/Sweep_3") at fault.
    """

    def __init__(self, path: str, message: str, where: str | None = None) -> None:
        self.path = str(path)
        self.where = where
        self.message = message
        location = f"{self.path}, {where}" if where else self.path
        super().__init__(f"{location}: {message}")
