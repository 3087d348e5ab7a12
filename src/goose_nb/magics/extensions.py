"""``%goose extensions``: list them, enable or disable one, add a notebook-only server.

``%goose extensions add NAME [--timeout N] -- CMD ARGS...`` takes the command after ``--``
as it would be typed in a terminal, so the server's own flags never meet ours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from goose_nb.display.rich import RichText
    from goose_nb.extensions import ExtensionConfig
    from goose_nb.session import Session

USAGE = ("usage: %goose extensions [enable NAME | disable NAME | "
         "add NAME [--timeout SECONDS] -- CMD ARGS...]")


def extensions_command(session: Session, args: list[str]) -> RichText:
    """Run the subcommand in ``args``, then show the extensions as they are now."""
    from goose_nb.display.extensions import extensions_view

    extensions = session.extensions
    if args:
        action, rest = args[0].lower(), args[1:]
        if action in ("enable", "disable"):
            if len(rest) != 1:
                raise UsageError(f"usage: %goose extensions {action} NAME")
            (extensions.enable if action == "enable" else extensions.disable)(rest[0])
        elif action == "add":
            extensions.add(_added(rest))
        else:
            raise UsageError(f"unknown %goose extensions action {args[0]!r}; {USAGE}")
    return extensions_view(extensions.rows(), extensions.problems)


def _added(words: list[str]) -> ExtensionConfig:
    """The notebook extension ``add NAME [--timeout N] -- CMD ARGS...`` describes."""
    from goose_nb.extensions import ExtensionConfig

    if "--" not in words:
        raise UsageError("give the server's command after --, e.g. %goose extensions add "
                         "time -- uvx mcp-server-time")
    split = words.index("--")
    own, command = words[:split], words[split + 1:]
    if not own or not command:
        raise UsageError(USAGE)
    name, options = own[0], own[1:]
    timeout = None
    if options:
        if len(options) != 2 or options[0] != "--timeout" or not options[1].isdigit() \
                or int(options[1]) < 1:
            raise UsageError(f"unknown options {' '.join(options)!r}: only --timeout "
                             "SECONDS (a whole number of at least 1) comes before --")
        timeout = int(options[1])
    fields = {"name": name, "type": "stdio", "cmd": command[0], "args": tuple(command[1:]),
              "origin": "notebook"}
    return ExtensionConfig.model_validate(
        fields if timeout is None else {**fields, "timeout": timeout})
