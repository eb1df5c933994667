from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from destek.lib.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[3]


def test_every_setting_read_from_the_environment_is_in_env_example() -> None:
    read = set()
    for path in (ROOT / "destek").rglob("*.py"):
        if "tests" in path.parts:
            continue
        read |= set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', path.read_text()))
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - listed == set()


def test_a_bad_number_stops_start_up_with_the_variables_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESTEK_X", "ten")
    with pytest.raises(ImproperlyConfigured, match="DESTEK_X"):
        env_int("DESTEK_X", 1)
    monkeypatch.setenv("DESTEK_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DESTEK_X"):
        env_bool("DESTEK_X")


def test_values_parse_and_secrets_come_from_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DESTEK_X", "yes")
    assert env_bool("DESTEK_X") is True
    monkeypatch.setenv("DESTEK_L", "a, b,,c")
    assert env_list("DESTEK_L") == ["a", "b", "c"]
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("DESTEK_S_FILE", str(secret))
    assert env_str("DESTEK_S") == "s3cr3t"
    monkeypatch.setenv("DESTEK_N", "0")
    with pytest.raises(ImproperlyConfigured):
        env_int("DESTEK_N", 5, minimum=1)
