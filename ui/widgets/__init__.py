"""Widgets shared by several screens: big buttons, the numeric keypad, the Telex keyboard."""
