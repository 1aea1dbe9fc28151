#!/usr/bin/env python
"""Django's command-line utility for Postaci."""

import gc
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Start-up (settings, apps, models, the command's modules) makes about 90,000 objects that
    # live as long as the process; the garbage collector walked them all at least once before
    # the command began (about 30 ms of CPU, for nothing to free). It collects nothing until
    # the command is loaded, then what start-up made is frozen out of its reach (as in
    # config/wsgi.py) and it runs as usual.
    gc.disable()
    from django.core.management import ManagementUtility

    class Utility(ManagementUtility):
        def fetch_command(self, subcommand):
            command = super().fetch_command(subcommand)
            gc.freeze()
            gc.enable()
            return command

    Utility(sys.argv).execute()


if __name__ == "__main__":
    main()
