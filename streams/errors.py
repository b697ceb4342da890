"""How any failure becomes one line for a user, and which exit code it earns."""

from __future__ import annotations

from streams.settings import SettingsError

USAGE = 2
FAILURE = 1


class StartError(RuntimeError):
    """The worker cannot start for a reason the user can fix (a missing data folder, a busy
    port); the message is the one line they see, the exit code 1 (contract section 6)."""


def one_line_error(exc: BaseException) -> tuple[str, int]:
    """(message, exit code): user mistakes exit 2, everything else 1."""
    from streams.admin import AdminError

    if isinstance(exc, SettingsError):
        return f"bad setting: {exc}", USAGE
    if isinstance(exc, AdminError | StartError):
        return str(exc), FAILURE
    try:
        from streams.domain.policy import PolicyError
    except ImportError:  # the domain core is optional for the bare CLI
        PolicyError = None  # type: ignore[assignment,misc]
    if PolicyError is not None and isinstance(exc, PolicyError):
        return "\n".join(exc.lines()), USAGE  # every problem (capped), as `policy check`
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename}", USAGE
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}", FAILURE
