"""Manual entry for people without a smartphone: phone (required), name, ID number, direction.

The phone is typed on the big keypad and checked with every key, with the reason in
words; the name is typed on the Telex letter keyboard; the visit is recorded by
``ScanService.manual`` off the main thread and shown on the scan screen like any scan.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.credentials import Rejection
from kiosk.messages import render
from kiosk.phone import parse_phone
from ui.i18n import tr
from ui.tasks import background

LIMITS = {"phone": 15, "id_number": 12}


class ManualScreen(Screen):
    phone = StringProperty("")
    name_text = StringProperty("")
    id_number = StringProperty("")
    editing = StringProperty("phone")  # phone / name / id_number
    direction = StringProperty("in")
    phone_hint = StringProperty("")
    phone_ok = BooleanProperty(False)
    busy = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        tr.bind_switch(lambda _lang: self.validate())

    def on_pre_enter(self) -> None:
        self.phone = self.name_text = self.id_number = ""
        self.editing = "phone"
        self.direction = App.get_running_app().backend.direction
        self.busy = False
        self.validate()

    def edit(self, field: str) -> None:
        self.editing = field
        if field == "name":
            self.ids.letters.start(self.name_text, telex=True)

    def keypad(self, key: str) -> None:
        field = "id_number" if self.editing == "id_number" else "phone"
        value = getattr(self, field)
        if key == "back":
            value = value[:-1]
        elif key == "clear":
            value = ""
        elif len(value) < LIMITS[field]:
            value += key
        setattr(self, field, value)
        self.validate()

    def typed_name(self, text: str) -> None:
        self.name_text = text

    def validate(self) -> None:
        """Live check of the phone number, in the words the scan service would use."""
        lang = App.get_running_app().lang
        if not self.phone:
            self.phone_ok, self.phone_hint = False, tr._("Type the phone number")
            return
        parsed = parse_phone(self.phone)
        if isinstance(parsed, Rejection):
            self.phone_ok = False
            self.phone_hint = render(parsed.code, lang) if len(self.phone) >= 10 else tr._("Keep typing…")
        else:
            self.phone_ok, self.phone_hint = True, tr._("Valid number")

    def set_direction(self, direction: str) -> None:
        if App.get_running_app().backend.switchable:
            self.direction = direction

    def confirm(self) -> None:
        app = App.get_running_app()
        self.busy = True
        backend = app.backend
        phone, name, id_number, direction = self.phone, self.name_text.strip(), self.id_number, self.direction

        def failed(_exc: BaseException) -> None:
            self.busy = False
            self.phone_hint = render("storage_error", app.lang)

        background(lambda: backend.manual(phone, name, id_number, direction), app.show_result, failed, name="manual")
