"""District server; filled by the server issue."""
