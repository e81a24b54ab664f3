"""The one user-facing error: a single line that names the culprit and the fix; the CLI exits with code 2."""


class KwsError(Exception):
    """Bad input or set-up the user can fix. The message is one line: what, where, and how to fix it.

    Attributes
    ----------
    exit_code : int
        What the `kws` command exits with on it: 2.
    """

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
