"""Kiosk configuration: TOML file, built-in defaults, and ``--set`` overrides.

Lookup order: ``--config PATH``, ``$CHECKPOINT_KIOSK_CONFIG``,
``/etc/checkpoint-kiosk/config.toml``, then the defaults below — so a fresh install runs
as a demo checkpoint with no file at all. Every mistake in a file is reported with the
file, the dotted key and what was expected, because an admin fixes it in a text editor.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kiosk import settings
from kiosk.enrolment import read_enrolment
from kiosk.settings import ConfigError as ConfigError  # where callers have always found it

SYSTEM_CONFIG = Path("/etc/checkpoint-kiosk/config.toml")
ENV_VAR = "CHECKPOINT_KIOSK_CONFIG"
Language = Literal["vi", "en"]  # of the screens, sounds aside, and of the CLI's messages

if TYPE_CHECKING:
    StopBits = float  # a type checker's Literal cannot hold 1.5; pyserial takes a float
else:
    StopBits = Literal[1, 1.5, 2]  # what pydantic checks: pyserial's STOPBITS_ONE, _ONE_POINT_FIVE, _TWO


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CheckpointConfig(_Section):
    code: str = Field("DEMO-01", min_length=1, max_length=64)
    name: str = "Chốt kiểm soát thử nghiệm"
    commune: str = "Xã Đăk Nhau"
    district: str = "Huyện Bù Đăng"
    province: str = "Tỉnh Bình Phước"


class KioskConfig(_Section):
    direction: Literal["in", "out", "both"] = "both"
    language: Language = "vi"
    repeat_window_s: float = Field(2.5, ge=0, le=3600)
    repeat_window_camera_s: float = Field(5.0, ge=0, le=3600)
    max_payload_bytes: int = Field(4096, ge=64, le=65536)


class StorageConfig(_Section):
    data_dir: str = ""  # empty: the user's data directory (see default_data_dir)
    retention_days: int = Field(30, ge=1, le=3650)  # delivered visits, by when they happened
    rejected_retention_days: int = Field(90, ge=1, le=3650)  # rejected ones, by when the rejection was learned


class DccConfig(_Section):
    trust_dir: str = ""  # empty: signatures are not checked


class HidScannerConfig(_Section):
    enabled: bool = False
    devices: list[str] = []  # paths/globs, vendor:product ids or name patterns; empty: names like scanners
    grab: bool = True
    tab_ends_scan: bool = False
    key_timeout_s: float = Field(0.1, ge=0, le=10)


class SerialScannerConfig(_Section):
    enabled: bool = False
    port: str = "/dev/serial/by-id/*"
    baudrate: int = Field(9600, gt=0)
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: StopBits = 1
    encoding: str = "utf-8"
    quiet_s: float = Field(0.1, ge=0, le=10)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, utf-16-be, cp1258, windows-1252)") from None
        return value


class CameraScannerConfig(_Section):
    enabled: bool = False
    device: str = "0"  # index, /dev/video* path, video file, image file or image folder
    width: int = Field(640, ge=160, le=4096)
    height: int = Field(480, ge=120, le=4096)
    fps: float = Field(15.0, gt=0, le=120)
    gone_after_s: float = Field(1.0, ge=0, le=60)


class ScannersConfig(_Section):
    hid: HidScannerConfig = HidScannerConfig()
    serial: SerialScannerConfig = SerialScannerConfig()
    camera: CameraScannerConfig = CameraScannerConfig()


class ServerConfig(_Section):
    url: str = ""  # empty: the server the kiosk was enrolled with
    batch_size: int = Field(500, ge=1, le=1000)
    interval_s: float = Field(300.0, gt=0)
    connect_timeout_s: float = Field(5.0, gt=0, le=300)
    read_timeout_s: float = Field(30.0, gt=0, le=600)
    retries: int = Field(5, ge=0, le=100)
    backoff_max_s: float = Field(60.0, gt=0, le=3600)
    probe_max_s: float = Field(60.0, gt=0, le=3600)
    ca_file: str = ""  # empty: the system's CA certificates
    allow_insecure_http: bool = False  # plain http:// to a server off this machine (sync/transport.py)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("expected an http:// or https:// URL, e.g. https://kiemsoat.example.gov.vn")
        return value


class UiConfig(_Section):
    fullscreen: bool = False
    width: int = Field(800, ge=320, le=7680)
    height: int = Field(480, ge=240, le=7680)
    show_cursor: bool = True
    input: Literal["mouse", "mtdev", "hidinput"] = "mouse"
    rotation: Literal[0, 90, 180, 270] = 0  # degrees; Kivy turns the picture and the touches alike
    result_seconds: float = Field(4.0, ge=1, le=60)
    sounds: bool = True
    camera_preview: bool = True
    keyboard_wedge: bool = True
    wedge_max_gap_s: float = Field(0.08, gt=0, le=1)
    admin_timeout_s: float = Field(120.0, ge=10, le=3600)
    pin_attempts: int = Field(5, ge=1, le=20)
    pin_lockout_s: float = Field(60.0, ge=1, le=3600)
    sync_stale_s: float = Field(3600.0, ge=60)


class Config(_Section):
    checkpoint: CheckpointConfig = CheckpointConfig()
    kiosk: KioskConfig = KioskConfig()
    storage: StorageConfig = StorageConfig()
    dcc: DccConfig = DccConfig()
    scanners: ScannersConfig = ScannersConfig()
    server: ServerConfig = ServerConfig()
    ui: UiConfig = UiConfig()

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir).expanduser() if self.storage.data_dir else default_data_dir()

    @property
    def trust_dir(self) -> Path | None:
        return Path(self.dcc.trust_dir).expanduser() if self.dcc.trust_dir else None


def default_data_dir() -> Path:
    """XDG data directory, so the demo needs no root and no config."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "checkpoint-kiosk"


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    system_path: Path = SYSTEM_CONFIG,
) -> tuple[Config, Path | None]:
    """The validated config and the file it came from (None: built-in defaults)."""
    config, source = settings.load(Config, path, ENV_VAR, system_path, overrides)
    return with_enrolled_checkpoint(config), source


def with_enrolled_checkpoint(config: Config) -> Config:
    """Once enrolled, the kiosk is the checkpoint the server enrolled it for, whatever
    ``[checkpoint]`` says: visits carrying another code would all be rejected."""
    enrolment = read_enrolment(config.data_dir)
    if enrolment is None:
        return config
    try:
        checkpoint = CheckpointConfig.model_validate(enrolment.checkpoint)
    except ValidationError:
        return config
    return config.model_copy(update={"checkpoint": checkpoint})
