"""Kivy touchscreen app; filled by the UI issue."""
