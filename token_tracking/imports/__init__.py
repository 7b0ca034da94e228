"""Coding agents' usage logs into the ledger: Claude Code, Codex and Gemini CLI.

::

    run        import_logs: find the files, read what is new, write it, remember the offsets
    hook       the git post-commit hook: import, then attribute the new usage to the commit
    store      ledger writes: dedup keys, replace-if-larger, sessions, file offsets
    discover   default locations, walking folders safely, recognising a file's format
    lines      reading a log from an offset: complete lines only, huge lines skipped
    claude_code | codex | gemini   one reader per format: a parsed line -> a request
    model      the request record, the import summary and the reasons a line is skipped
"""
