"""Input sources (HID keyboard-wedge, serial, camera); filled by the drivers issue."""
