"""streams.logs: JSON/text lines, log_event, and email redaction everywhere."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from streams.logs import EMAIL_MASK, configure_logging, log_event, redact

EMAILS = ["ann.smith@example.com", "bob+leads@corp.co.uk", "x_y@sub.domain.io"]


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield buf
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)


def _json_lines(buf: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_json_lines_have_the_standard_fields(out: io.StringIO) -> None:
    configure_logging("json", "INFO", stream=out)
    logging.getLogger("streams.test").info("hello %s", "world", extra={"partition": 3})
    (line,) = _json_lines(out)
    assert line["level"] == "INFO"
    assert line["logger"] == "streams.test"
    assert line["msg"] == "hello world"
    assert line["partition"] == 3
    assert isinstance(line["ts"], str) and line["ts"].endswith("Z")


@pytest.mark.parametrize("email", EMAILS)
def test_email_in_message_args_and_fields_is_masked_json(out: io.StringIO, email: str) -> None:
    configure_logging("json", "DEBUG", stream=out)
    log = logging.getLogger("streams.test")
    log.info("contact " + email)
    log.info("lead %s signed up", email)
    log.warning("x", extra={"who": email, "nested": {"list": [email, 1]}})
    log_event(log, "dead_letter", error=f"bad address {email}", msg=email)
    try:
        raise ValueError(f"cannot route {email}")
    except ValueError:
        log.exception("routing failed")
    text = out.getvalue()
    assert email not in text
    assert "@" not in text
    assert text.count(EMAIL_MASK) >= 7
    lines = _json_lines(out)
    assert lines[0]["msg"] == f"contact {EMAIL_MASK}"
    assert lines[2]["who"] == EMAIL_MASK
    assert lines[3]["event"] == "dead_letter"
    assert lines[3]["field_msg"] == EMAIL_MASK
    assert "exc" in lines[4]


def test_email_masked_in_text_format(out: io.StringIO) -> None:
    configure_logging("text", "INFO", stream=out)
    log = logging.getLogger("streams.test")
    log_event(log, "sla_breach", queue="emea-smb", owner="rep@example.com")
    log.info("from %s", "ann@example.com")
    text = out.getvalue()
    assert "@" not in text
    assert "sla_breach" in text and 'queue="emea-smb"' in text


def test_log_event_fields(out: io.StringIO) -> None:
    configure_logging("json", "INFO", stream=out)
    log = logging.getLogger("streams.worker")
    log_event(log, "policy_loaded", version="2024.06", rules=12)
    log_event(log, "ready", level=logging.WARNING, name="clash", args=[1])
    log_event(log, "start")
    a, b, c = _json_lines(out)
    assert a == {**a, "msg": "policy_loaded", "event": "policy_loaded", "version": "2024.06"}
    assert a["rules"] == 12
    assert b["level"] == "WARNING"
    assert b["field_name"] == "clash" and b["field_args"] == [1]
    assert b["logger"] == "streams.worker"
    assert c["event"] == "start"


def test_level_filters_and_reconfigure_replaces_handler(out: io.StringIO) -> None:
    configure_logging("json", "WARNING", stream=out)
    configure_logging("json", "WARNING", stream=out)  # not twice
    log = logging.getLogger("streams.test")
    log.info("hidden")
    log.warning("shown")
    assert [line["msg"] for line in _json_lines(out)] == ["shown"]


@pytest.mark.parametrize(("fmt", "level"), [("xml", "INFO"), ("json", "LOUD"), ("", "INFO")])
def test_bad_settings_are_one_clear_error(out: io.StringIO, fmt: str, level: str) -> None:
    with pytest.raises(ValueError, match="must be one of"):
        configure_logging(fmt, level, stream=out)


def test_redact_helper() -> None:
    assert redact("a ann@example.com b") == f"a {EMAIL_MASK} b"
    assert redact({"k": ["x@y.io", 3]}) == {"k": [EMAIL_MASK, 3]}
    assert redact("lead L-42 at 10:00") == "lead L-42 at 10:00"
    assert redact(7) == 7


def test_module_reads_no_environment() -> None:
    from pathlib import Path

    import streams.logs as mod

    source = Path(mod.__file__).read_text()
    assert "os.environ" not in source and "getenv" not in source


@pytest.fixture
def library_levels() -> Iterator[None]:
    from streams.logs import THIRD_PARTY_LOGGERS

    saved = {n: logging.getLogger(n).level for n in THIRD_PARTY_LOGGERS}
    yield
    for n, lvl in saved.items():
        logging.getLogger(n).setLevel(lvl)


@pytest.mark.parametrize("name", ["kafka.conn", "aiokafka.consumer.group_coordinator",
                                  "faust.transport.drivers.aiokafka", "mode.services"])
def test_third_party_info_is_quiet_by_default(out: io.StringIO, library_levels: None,
                                              name: str) -> None:
    """Issue 14.7: kafka-python's INFO chatter was a third of a demo run's log."""
    configure_logging("json", "INFO", stream=out)
    logging.getLogger(name).info("connecting to 127.0.0.1:9092")
    logging.getLogger("streams.worker").info("ours")
    logging.getLogger(name).warning("broker gone")
    assert [(ln["logger"], ln["msg"]) for ln in _json_lines(out)] == [
        ("streams.worker", "ours"), (name, "broker gone")]


def test_debug_level_shows_library_lines_too(out: io.StringIO, library_levels: None) -> None:
    configure_logging("json", "DEBUG", stream=out)
    logging.getLogger("kafka.conn").info("connecting")
    assert [ln["logger"] for ln in _json_lines(out)] == ["kafka.conn"]


def test_dead_letters_are_one_line_each_with_type_topic_partition_offset(
        out: io.StringIO) -> None:
    from streams.codecs.dead_letters import dead_letter
    from streams.logs import log_dead_letters

    configure_logging("json", "INFO", stream=out)
    value = b'{"email": "ann.smith@example.com", "first_name": "Ann"}'
    letters = [dead_letter("leads.events", 3, 1234 + i, b"L-1", value,
                           KeyError("ann.smith@example.com"), 0) for i in range(25)]
    assert log_dead_letters(logging.getLogger("agents.score_leads"), letters) == 25
    lines = _json_lines(out)
    assert len(lines) == 21  # 20 letters, then one count line
    first = lines[0]
    assert first["msg"] == "dead letter PROCESSING leads.events[3]@1234: KeyError: '…'"
    assert (first["event"], first["error_type"], first["topic"], first["partition"],
            first["offset"]) == ("dead_letter", "PROCESSING", "leads.events", 3, 1234)
    assert [ln["offset"] for ln in lines[:20]] == list(range(1234, 1254))
    assert lines[20]["msg"].startswith("5 more dead letter(s)") and lines[20]["count"] == 5
    text = out.getvalue()
    assert "ann.smith" not in text and "Ann" not in text and "L-1" not in text
