"""Names that look meant for the receiver but are ignored: one warning each, naming the closest real one."""

import pytest

from otel_desk_receiver.config import Settings, config_warnings, env_name
from otel_desk_receiver.otel_env import OTLP_VARIABLES

WARNINGS = [
    ("desk typo", {"DESK_POLL_INTERVALL": "10"},
     ["DESK_POLL_INTERVALL: not a setting of this receiver, ignored; did you mean DESK_POLL_INTERVAL?"]),
    ("desk token file typo", {"DESK_API_TOKEN_FIEL": "/t"},
     ["DESK_API_TOKEN_FIEL: not a setting of this receiver, ignored; did you mean DESK_API_TOKEN_FILE?"]),
    ("desk nothing close", {"DESK_ZZZ": "1"}, ["DESK_ZZZ: not a setting of this receiver, ignored; known: "
                                               + ", ".join(env_name(f) for f in Settings.model_fields)]),
    ("otlp suffix typo", {"OTEL_EXPORTER_OTLP_ENDPIONT": "http://c:4318"},
     ["OTEL_EXPORTER_OTLP_ENDPIONT: not an OpenTelemetry OTLP exporter variable, ignored; "
      "did you mean OTEL_EXPORTER_OTLP_ENDPOINT?"]),
    ("otlp signal singular", {"OTEL_EXPORTER_OTLP_LOG_HEADERS": "a=b"},
     ["OTEL_EXPORTER_OTLP_LOG_HEADERS: not an OpenTelemetry OTLP exporter variable, ignored; "
      "did you mean OTEL_EXPORTER_OTLP_LOGS_HEADERS?"]),
    ("otlp prefix typo", {"OTEL_EXPORTER_OTPL_ENDPOINT": "http://c:4318"},
     ["OTEL_EXPORTER_OTPL_ENDPOINT: not an OpenTelemetry OTLP exporter variable, ignored; "
      "did you mean OTEL_EXPORTER_OTLP_ENDPOINT?"]),
    ("otlp headers file is not in the spec", {"OTEL_EXPORTER_OTLP_HEADERS_FILE": "/h"},
     ["OTEL_EXPORTER_OTLP_HEADERS_FILE: not an OpenTelemetry OTLP exporter variable, ignored; "
      "did you mean OTEL_EXPORTER_OTLP_HEADERS?"]),
    ("other exporters and sdk variables", {"OTEL_EXPORTER_ZIPKIN_ENDPOINT": "z", "OTEL_EXPORTER_PROMETHEUS_PORT": "1",
                                           "OTEL_EXPORTER_JAEGER_TIMEOUT": "1", "OTEL_METRICS_EXPORTER": "otlp",
                                           "OTEL_SERVICE_NAME": "s", "OTEL_SDK_DISABLED": "true"}, []),
    ("every setting and spec variable", {**{env_name(f): "x" for f in Settings.model_fields},
                                         **{name: "x" for name in OTLP_VARIABLES}}, []),
    ("apps as a variable", {"DESK_APPS": "[]"},
     ["DESK_APPS: not a setting of this receiver, ignored; apps (several Desk apps) is a list of the --config "
      "file only"]),
    ("unrelated", {"PATH": "/bin", "DESKTOP_SESSION": "x"}, []),
]


@pytest.mark.parametrize(("env", "expected"), [w[1:] for w in WARNINGS], ids=[w[0] for w in WARNINGS])
def test_warnings_name_the_closest_real_variable(env, expected):
    assert config_warnings(env) == expected


def test_a_new_setting_is_known_from_the_settings_model():
    """The known DESK_* names are the Settings fields, not a list kept by hand next to them."""
    assert OTLP_VARIABLES >= {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
                              "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"}
    assert config_warnings({env_name(field): "1" for field in Settings.model_fields}) == []
