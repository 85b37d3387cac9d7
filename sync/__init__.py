"""Wire protocol and the kiosk sync client; filled by the sync issue."""
