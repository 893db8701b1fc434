"""The `chargebus` command: `run` (the supervisor), `status`, `sim ...`.

Each sub-command lives in its own module with `register(subparsers)`; the function it sets as
`func` takes `(args, settings)` and returns the exit status.
"""
