"""Kiosk core: config, payload recognition, clock, visit store, scan service, CLI.

No UI and no network here: nothing in this package imports drivers, sync, ui or server.
"""
