"""One Kivy Screen per module, each with its kv file of the same name beside it."""
