"""The district's web console: server-rendered pages on the API's FastAPI app, for people.

Officials sign in with a password (server/sessions.py), see the weekly per-commune table
and its trend, the silent checkpoints and why, trace with a reason, read the audit log and
manage checkpoints and kiosks. HTML first, no JavaScript needed, nothing loaded from the
internet (a district server may sit on an intranet): the CSS ships in ``static/``.
Vietnamese first, English by a switch; times in Asia/Ho_Chi_Minh.
"""
