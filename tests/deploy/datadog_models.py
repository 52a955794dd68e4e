"""The Datadog dashboard, monitors, logs pipeline and Observability Pipelines processor read by
datadog-api-client's own models (what the Datadog API accepts): anything they cannot type (an
UnparsedObject: a misspelt widget type, a wrong shape) or a field the model does not know is a problem."""

from typing import Any

from datadog_api_client import Configuration
from datadog_api_client.model_utils import ModelComposed, ModelNormal, OpenApiModel, UnparsedObject, validate_and_convert_types
from datadog_api_client.v1.model.dashboard import Dashboard
from datadog_api_client.v1.model.logs_pipeline import LogsPipeline
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v2.model.observability_pipeline_dedupe_processor import ObservabilityPipelineDedupeProcessor


def parse(data: dict[str, Any], model: type[OpenApiModel]) -> OpenApiModel:
    return validate_and_convert_types(data, (model,), [model.__name__], True, True, Configuration())


def problems(node: Any, path: str = "$") -> list[str]:
    """Where the parsed model holds something untyped or a field its schema does not define."""
    if isinstance(node, UnparsedObject):
        return [f"{path}: cannot be typed"]
    found = []
    if isinstance(node, OpenApiModel):
        if node._unparsed:
            found.append(f"{path}: cannot be typed")
        if isinstance(node, ModelComposed):
            for instance in node._composed_instances:
                found += problems(instance, path)
            return found
        if isinstance(node, ModelNormal):
            known = set(type(node).attribute_map)
            found += [f"{path}.{key}: not a field of {type(node).__name__}" for key in node._data_store
                      if key not in known]
            for key, value in node._data_store.items():
                found += problems(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += problems(item, f"{path}[{index}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            found += problems(value, f"{path}.{key}")
    return found


def dashboard_problems(data: dict[str, Any]) -> list[str]:
    return problems(parse(data, Dashboard))


def monitor_problems(data: dict[str, Any]) -> list[str]:
    return problems(parse(data, Monitor))


def pipeline_problems(data: dict[str, Any]) -> list[str]:
    return problems(parse(data, LogsPipeline))


def dedupe_problems(data: dict[str, Any]) -> list[str]:
    return problems(parse(data, ObservabilityPipelineDedupeProcessor))
