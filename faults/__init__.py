"""The fault campaign (issue 14): crashes and power cuts thrown at the real kiosk, server and database.

A tool, not the product: nothing in kiosk/, drivers/, sync/, ui/ or server/ imports it.
See docs/reliability.md for what it does, the command and the tables it wrote.
"""
