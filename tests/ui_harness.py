"""The real kiosk app in a subprocess, driven by JSON commands on stdin (tests only).

Kivy keeps one App per process, so each UI test module starts one of these with
``UiKiosk`` and talks to it: tap a widget by id (a simulated touch through Kivy's input
path), type keys into the window, resize it, take a screenshot, read the screens' state.
Every command runs on Kivy's main thread; each answer is one line ``@@ {json}`` on stdout.

Run as ``python -m tests.ui_harness --set KEY=VALUE ...`` (the kiosk's config overrides).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tests.waiting import wait_for

PREFIX = "@@ "
SURFACE = 1280  # pixels, both ways: the largest window side a test uses
REPO = Path(__file__).resolve().parents[1]


# --- the parent side: pytest ---------------------------------------------------------


class UiKiosk:
    """The app subprocess under SDL's offscreen driver, with a private KIVY_HOME."""

    def __init__(self, tmp: Path, *overrides: str, wrap: tuple[str, ...] = ()) -> None:
        """``wrap``: a command the app runs under, e.g. nsenter into a namespace with a tmpfs "stick"."""
        env = {
            **os.environ,
            "KIVY_NO_ARGS": "1",
            "KIVY_HOME": str(tmp / "kivy-home"),
            "KIVY_NO_FILELOG": "1",
            "SDL_VIDEODRIVER": "offscreen",
            "SDL_AUDIODRIVER": "dummy",
            "PYTHONUNBUFFERED": "1",
        }
        # SDL's offscreen surface keeps the size it was created with: create it large enough
        # for every size a test asks for, then start at the 7" display's 800×480.
        big = (f"ui.width={SURFACE}", f"ui.height={SURFACE}")
        argv = [*wrap, sys.executable, "-m", "tests.ui_harness", *[a for o in (*big, *overrides) for a in ("--set", o)]]
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.log: list[str] = []
        self.answers: list[Any] = []
        self._lock = threading.Lock()
        for stream, handler in ((self.proc.stdout, self._answer), (self.proc.stderr, self.log.append)):
            threading.Thread(target=self._read, args=(stream, handler), daemon=True).start()
        self.call("size", width=800, height=480)

    @staticmethod
    def _read(stream: IO[bytes], handler: Callable[[str], None]) -> None:
        for line in stream:
            handler(line.decode("utf-8", "replace"))

    def _answer(self, line: str) -> None:
        if line.startswith(PREFIX):
            with self._lock:
                self.answers.append(json.loads(line[len(PREFIX) :]))
        else:
            self.log.append(line)

    def call(self, cmd: str, **args: Any) -> Any:
        """Run one command in the app and return its answer."""
        with self._lock:
            seen = len(self.answers)
        self.proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        self.proc.stdin.flush()
        wait_for(lambda: len(self.answers) > seen or self.proc.poll() is not None, f"the app to answer {cmd}")
        assert self.proc.poll() is None, "the app died:\n" + "".join(self.log[-60:])
        answer = self.answers[seen]
        assert "error" not in answer, f"{cmd}: {answer['error']}"
        return answer["value"]

    def state(self) -> dict[str, Any]:
        return self.call("state")

    def wait_state(self, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def ready() -> bool:
            found.update(self.state())
            return check(found)

        wait_for(ready, what)
        return found

    def tap(self, widget_id: str, text: str | None = None) -> None:
        self.call("tap", id=widget_id, text=text)

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.stdin.close()
        return self.proc.wait(timeout=60)


@contextmanager
def running_app(tmp: Path, *overrides: str, wrap: tuple[str, ...] = ()) -> Iterator[UiKiosk]:
    """The app for a test module; stopped through its own Exit path, which must exit 0."""
    kiosk = UiKiosk(tmp, f"storage.data_dir={tmp / 'data'}", *overrides, wrap=wrap)
    yield kiosk
    kiosk.call("stop")
    assert kiosk.close() == 0, "".join(kiosk.log[-40:])


# --- the child side: the app ---------------------------------------------------------


def _find(root: Any, widget_id: str, text: str | None) -> Any:
    """A widget by kv id anywhere under ``root`` (shown widgets only); with ``text``, the
    child of that widget whose key or text it is (a key of a keypad or keyboard)."""
    for widget in root.walk():
        found = getattr(widget, "ids", {}).get(widget_id)
        if found is None or found.get_root_window() is None:
            continue
        if text is None:
            return found
        for child in found.walk():
            if text in (getattr(child, "key", None), getattr(child, "text", None)) and child is not found:
                return child
    raise LookupError(f"no shown widget {widget_id!r}" + (f" with a child {text!r}" if text else ""))


def _ancestors(widget: Any) -> Iterator[Any]:
    parent = widget.parent
    while parent is not None and parent is not parent.parent:
        yield parent
        parent = parent.parent


def _shown(widget: Any) -> bool:
    """Drawn and visible: not transparent itself or through a parent, not collapsed to nothing."""
    return widget.width > 1 and widget.height > 1 and all(getattr(w, "opacity", 1) > 0 for w in (widget, *_ancestors(widget)))


def _measure(label: Any, width: float | None) -> tuple[float, float]:
    """The size the label's text needs, laid out ``width`` wide (None: one line per line of text),
    never shortened or limited to some lines: what it would take to show every word."""
    from kivy.core.text import Label as CoreLabel
    from kivy.core.text.markup import MarkupLabel

    options = {
        k: v
        for k, v in label._label.options.items()
        if k not in ("text", "text_size", "shorten", "max_lines", "padding", "padding_x", "padding_y")
    }
    core = (MarkupLabel if label.markup else CoreLabel)(text=label.text, text_size=(width, None), **options)
    core.refresh()
    return core.texture.size if core.texture is not None else (0, 0)


def _misfit(label: Any, scrolled: bool, button: bool, min_font: float) -> str:
    """Why ``label`` does not show all of its text readably, or ''."""
    from kivy.core.window import Window

    if label.font_size < min_font - 0.01:
        return f"font {label.font_size:.1f} px < {min_font} px"
    left, bottom = label.to_window(label.x, label.y)
    right, top = label.to_window(label.right, label.top)
    if not scrolled and (left < -1 or bottom < -1 or right > Window.width + 1 or top > Window.height + 1):
        return "outside the window"
    pad_x, pad_y = label.padding[0] + label.padding[2], label.padding[1] + label.padding[3]
    width = label.text_size[0] if label.text_size[0] is not None else label.width - pad_x
    height = label.text_size[1] if label.text_size[1] is not None else label.height - pad_y
    one_line = _measure(label, None)
    if label.shorten or label.text_size[0] is None:  # one line per line of text: it must be wide enough
        if one_line[0] > width + 1:
            return f"cut: needs {one_line[0]} px wide, has {width:.0f}"
        needed = one_line
    else:
        needed = _measure(label, width)
        if button and needed[1] > one_line[1] + 1:
            return f"button text wrapped: needs {one_line[0]} px wide, has {width:.0f}"
    if needed[1] > height + 1:
        return f"cut: needs {needed[1]} px high, has {height:.0f}"
    return ""


class Driver:
    def __init__(self, app: Any) -> None:
        self.app = app

    def tap(self, id: str, text: str | None = None) -> bool:  # "id": the protocol's word
        from kivy.tests.common import UnitTestTouch

        widget = _find(self.app.root, id, text)
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
        return True

    def type(self, text: str, enter: bool = True) -> bool:
        from kivy.core.window import Window

        for char in text:
            Window.dispatch("on_textinput", char)
        if enter:
            Window.dispatch("on_key_down", 13, 40, None, [])
        return True

    def key(self, code: int) -> bool:
        from kivy.core.window import Window

        Window.dispatch("on_key_down", code, 0, None, [])
        return True

    def close_window(self) -> bool:
        from kivy.core.window import Window

        Window.dispatch("on_request_close")
        return True

    def size(self, width: int, height: int) -> list[int]:
        from kivy.core.window import Window

        Window.size = (width, height)
        return list(Window.size)

    def shot(self, path: str) -> str:
        from kivy.core.window import Window

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return Window.screenshot(path)

    def state(self) -> dict[str, Any]:
        from kivy.core.window import Window

        scan = self.app.screen("scan")
        manual = self.app.screen("manual")
        pin = self.app.screen("pin")
        return {
            "screen": self.app.root.current,
            "size": list(Window.size),
            "lang": self.app.lang,
            "panel": {
                "state": scan.panel_state,
                "title": scan.panel_title,
                "summary": scan.panel_summary,
                "detail": scan.panel_detail,
            },
            "counts": scan.counts,
            "status": scan.status_text,
            "status_colour": list(scan.status_colour),
            "alert": scan.alert_text,
            "direction": scan.direction,
            "manual": {
                "phone": manual.phone,
                "name": manual.name_text,
                "id_number": manual.id_number,
                "hint": manual.phone_hint,
                "ok": manual.phone_ok,
            },
            "pin": {"mode": pin.mode, "message": pin.message, "busy": pin.busy},
            "readers": [s.state.value for s in self.app.backend.readers()],
        }

    def text_of(self, id: str) -> str:
        return _find(self.app.root, id, None).text

    def prop(self, id: str, name: str) -> Any:
        """One property of a widget, e.g. whether it is disabled."""
        return getattr(_find(self.app.root, id, None), name)

    def texts_under(self, id: str) -> list[str]:
        """The texts of every label under a widget, top to bottom (rows added from Python)."""
        return [w.text for w in reversed(list(_find(self.app.root, id, None).walk())) if getattr(w, "text", "")]

    def status_colour(self) -> list[float]:
        return list(self.app.screen("scan").status_colour)

    def fits(self, id: str, text: str | None = None) -> bool:
        """Whether a label shows ``text`` (default: all of its text) uncut and lies inside the window:
        one line for a label that shortens, every wrapped line for one that grows."""
        from kivy.core.text import Label as CoreLabel
        from kivy.core.window import Window

        widget = _find(self.app.root, id, None)
        left, bottom = widget.to_window(widget.x, widget.y)
        right, top = widget.to_window(widget.right, widget.top)
        if left < 0 or bottom < 0 or right > Window.width or top > Window.height:
            return False
        if getattr(widget, "shorten", False):
            measured = CoreLabel(text=text or widget.text, font_size=widget.font_size, bold=widget.bold, font_name=widget.font_name)
            measured.refresh()
            return measured.texture.size[0] <= widget.width
        return widget.height >= widget.texture_size[1]

    def cut_labels(self, min_font: float = 16) -> list[dict[str, Any]]:
        """Every shown label on the current screen whose text does not fit: cut (shortened or
        clipped), running out of its widget or the window, a button wrapped onto two lines,
        or text smaller than ``min_font`` px. Empty when every word on screen can be read."""
        from kivy.uix.button import Button
        from kivy.uix.label import Label
        from kivy.uix.scrollview import ScrollView

        screen = self.app.root.current_screen
        names = {id(getattr(w, "__self__", w)): name for owner in screen.walk() for name, w in getattr(owner, "ids", {}).items()}
        problems = []
        for widget in screen.walk(restrict=True):
            if not isinstance(widget, Label) or not widget.text.strip() or not _shown(widget):
                continue
            scrolled = any(isinstance(a, ScrollView) for a in _ancestors(widget))
            found = _misfit(widget, scrolled, isinstance(widget, Button), min_font)
            if found:
                problems.append(
                    {
                        "id": names.get(id(widget), type(widget).__name__),
                        "text": widget.text[:80],
                        "problem": found,
                        "size": [round(widget.width), round(widget.height)],
                        "font": round(widget.font_size, 1),
                    }
                )
        return problems

    def usb_roots(self, roots: list[str]) -> bool:
        """Look for USB sticks mounted below ``roots`` (a test's own) instead of /media, /run/media."""
        from ui.screens.admin_sync import ExportPanel

        ExportPanel.roots = tuple(roots)
        return True

    def stop(self) -> bool:
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: self.app.quit(), 0.2)  # after this answer is out
        return True


def _serve(app: Any) -> None:
    """Read commands on a thread; run each on the main thread at the next frame."""
    from kivy.clock import Clock

    driver = Driver(app)

    def run(command: dict[str, Any]) -> None:
        name = command.pop("cmd")
        try:
            answer = {"value": getattr(driver, name)(**command)}
        except Exception as exc:  # reported to the test, which fails with it
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        # after a frame or two, so the effects of a touch (or a resize, which nested
        # layouts pass on over several frames) have been laid out and drawn
        Clock.schedule_once(
            lambda _dt: print(PREFIX + json.dumps(answer, ensure_ascii=False, default=str), flush=True),
            0.5 if name == "size" else 0.05,
        )

    def read() -> None:
        for line in sys.stdin:
            command = json.loads(line)
            Clock.schedule_once(lambda _dt, c=command: run(c), 0)
        Clock.schedule_once(lambda _dt: app.quit(), 0)

    threading.Thread(target=read, daemon=True).start()


def main() -> None:
    from kiosk.config import load_config
    from ui.kiosk_window import configure

    overrides = [arg for flag, arg in zip(sys.argv[1::2], sys.argv[2::2], strict=True) if flag == "--set"]
    config, source = load_config(None, overrides)
    configure(config.ui)
    from ui.app import KioskApp

    app = KioskApp(config, config_file=source)
    app.bind(on_start=lambda _app: _serve(app))
    app.run()


if __name__ == "__main__":
    main()
