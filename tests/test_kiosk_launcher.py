"""The kiosk launcher for a real screen: the flags Chromium gets, the URL it opens, the profile it
keeps, and a clear refusal without configuration (the browser is replaced by ``echo``)."""

from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parent.parent / "kiosk" / "launcher"


def _launch(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ECOUTE_CHROMIUM": "echo",
            "ECOUTE_KIOSK_CONFIG": str(tmp_path / "absent")}
    return subprocess.run([str(LAUNCHER / "ecoute-kiosk.sh")], env={**base, **env}, capture_output=True,
                          text=True, timeout=30, check=False)


def test_chromium_starts_full_screen_with_autoplay_on_the_kiosk_page(tmp_path: Path) -> None:
    config = tmp_path / "ecoute-kiosk"
    config.write_text("ECOUTE_URL=https://ecoute.example.com/\n")
    done = _launch(tmp_path, ECOUTE_KIOSK_CONFIG=str(config), ECOUTE_KIOSK_FLAGS="--force-device-scale-factor=1.5")
    assert done.returncode == 0, done.stderr
    args = done.stdout.split()
    assert args[-1] == "https://ecoute.example.com/kiosk/"
    for flag in ("--kiosk", "--autoplay-policy=no-user-gesture-required", "--noerrdialogs", "--no-first-run",
                 "--force-device-scale-factor=1.5"):
        assert flag in args, flag
    profile = next(a.split("=", 1)[1] for a in args if a.startswith("--user-data-dir="))
    assert Path(profile) == tmp_path / ".local" / "state" / "ecoute-kiosk" and Path(profile).is_dir()


def test_after_a_power_cut_chromium_is_not_told_it_crashed(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text('{"profile":{"exited_cleanly":false,"exit_type":"Crashed"}}')
    (profile / "SingletonLock").symlink_to("dead-host-1234")
    done = _launch(tmp_path, ECOUTE_URL="http://127.0.0.1:8000", ECOUTE_KIOSK_PROFILE=str(profile))
    assert done.returncode == 0, done.stderr
    assert '"exited_cleanly":true' in (profile / "Default" / "Preferences").read_text()
    assert '"exit_type":"Normal"' in (profile / "Default" / "Preferences").read_text()
    assert not os.path.lexists(profile / "SingletonLock")


def test_without_an_address_it_says_what_to_set(tmp_path: Path) -> None:
    done = _launch(tmp_path)
    assert done.returncode == 78 and "ECOUTE_URL" in done.stderr and done.stdout == ""


def test_the_unit_restarts_the_launcher_for_ever() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(LAUNCHER / "ecoute-kiosk.service")
    assert unit["Service"]["ExecStart"] == "/usr/local/bin/ecoute-kiosk"
    assert unit["Service"]["Restart"] == "always" and unit["Unit"]["StartLimitIntervalSec"] == "0"
    assert unit["Service"]["EnvironmentFile"] == "-/etc/default/ecoute-kiosk"
