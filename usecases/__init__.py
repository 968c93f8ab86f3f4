"""What staff do that both the chat and the shell offer (importing a spreadsheet), written once.

A use case sits below the handlers and the CLI, which only translate between the person and it; it
uses db/ and the kit modules bot/i18n.py and bot/labels.py, never a handler or the runtime.
"""
