"""streams.startup and the exit codes of the user's own mistakes (contract section 6)."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from streams.errors import FAILURE, StartError, one_line_error
from streams.settings import Settings, SettingsError
from streams.startup import check_web_port, ensure_data_dir


def settings(**kw: object) -> Settings:
    return dataclasses.replace(Settings.from_env({}), **kw)  # type: ignore[arg-type]


def test_a_missing_data_dir_is_created_when_its_parent_exists(tmp_path: Path) -> None:
    ensure_data_dir(settings(data_dir=tmp_path / "data"))
    assert (tmp_path / "data").is_dir()
    ensure_data_dir(settings(data_dir=tmp_path / "data"))  # and again: nothing to do


@pytest.mark.parametrize("make_file", [False, True])
def test_a_data_dir_that_cannot_be_is_one_line_exit_1(tmp_path: Path, make_file: bool) -> None:
    path = tmp_path / "nope" / "data"
    if make_file:
        path = tmp_path / "file"
        path.write_text("x")
    with pytest.raises(StartError) as err:
        ensure_data_dir(settings(data_dir=path))
    message, code = one_line_error(err.value)
    assert code == FAILURE and "\n" not in message and "LEADFLOW_DATA_DIR" in message
    assert not (tmp_path / "nope").exists()


def test_a_busy_web_port_is_one_line_exit_1() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(StartError) as err:
            check_web_port(settings(web_port=port))
    message, code = one_line_error(err.value)
    assert code == FAILURE and "already in use" in message and "\n" not in message
    check_web_port(settings(web_port=port))  # free again


def test_a_web_host_that_is_not_ours_is_one_line() -> None:
    with pytest.raises(StartError, match=r"cannot listen on 192\.0\.2\.1"):
        check_web_port(settings(web_host="192.0.2.1", web_port=6066))


def test_connect_timeout_setting() -> None:
    assert Settings.from_env({}).connect_timeout == 10.0
    assert Settings.from_env({"LEADFLOW_CONNECT_TIMEOUT_S": "2.5"}).connect_timeout == 2.5
    with pytest.raises(SettingsError, match="LEADFLOW_CONNECT_TIMEOUT_S"):
        Settings.from_env({"LEADFLOW_CONNECT_TIMEOUT_S": "soon"})
