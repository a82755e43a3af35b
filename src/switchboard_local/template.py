"""Read what the local stack and the tests need from ``template.yaml``.

CloudFormation's short tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...) are kept as
:class:`Tag` values; :meth:`Template.resolve` turns the few the local stack needs into
local values (table name, secret id, parameter defaults).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Function", "HttpRoute", "Tag", "Template", "find_template"]


#: Pseudo parameters as the local stack sees them (``${AWS::Region}`` in a ``!Sub``).
PSEUDO_PARAMETERS = {
    "AWS::Region": lambda: os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    "AWS::URLSuffix": lambda: "amazonaws.com",
    "AWS::Partition": lambda: "aws",
    "AWS::AccountId": lambda: "123456789012",
    "AWS::StackName": lambda: "switchboard-local",
}


@dataclass(frozen=True)
class Tag:
    name: str
    value: Any


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Tag(suffix, value)


_Loader.add_multi_constructor("!", _construct)


@dataclass(frozen=True)
class HttpRoute:
    function_id: str
    method: str
    path: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any]
    events: dict[str, Any]
    timeout: int = 3

    @property
    def module_path(self) -> Path:
        return self.code_uri / (self.handler.rsplit(".", 1)[0] + ".py")

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


def find_template(start: Path | None = None) -> Path:
    """The project's template.yaml: from $SWITCHBOARD_ROOT, the working directory or the package's checkout."""
    import os

    candidates = []
    if os.environ.get("SWITCHBOARD_ROOT"):
        candidates.append(Path(os.environ["SWITCHBOARD_ROOT"]))
    candidates += [start or Path.cwd(), Path(__file__).resolve().parents[2]]
    for base in candidates:
        for folder in (base, *base.parents):
            if (folder / "template.yaml").is_file() and (folder / "functions").is_dir():
                return folder / "template.yaml"
    raise FileNotFoundError("template.yaml not found (run from the Switchboard checkout or set SWITCHBOARD_ROOT)")


class Template:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path.parent
        self.doc: dict[str, Any] = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass

    @property
    def resources(self) -> dict[str, Any]:
        return self.doc["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == kind}

    @cached_property
    def functions(self) -> dict[str, Function]:
        glob = self.doc.get("Globals", {}).get("Function", {})
        genv = glob.get("Environment", {}).get("Variables", {})
        out = {}
        for logical_id, res in self.of_type("AWS::Serverless::Function").items():
            props = res.get("Properties", {})
            env = {**genv, **props.get("Environment", {}).get("Variables", {})}
            out[logical_id] = Function(logical_id=logical_id, code_uri=self.root / props["CodeUri"],
                                       handler=props.get("Handler", glob.get("Handler", "app.handler")),
                                       environment=env, events=props.get("Events", {}),
                                       timeout=int(props.get("Timeout", glob.get("Timeout", 3))))
        return out

    def http_routes(self) -> list[HttpRoute]:
        routes = []
        for fn in self.functions.values():
            for event in fn.events.values():
                if event.get("Type") == "HttpApi":
                    p = event["Properties"]
                    routes.append(HttpRoute(fn.logical_id, p["Method"].upper(), p["Path"]))
        return routes

    def websocket_routes(self) -> dict[str, str]:
        """Route key -> function logical id, for the WebSocket API (empty until it exists)."""
        integrations = {k: v for k, v in self.of_type("AWS::ApiGatewayV2::Integration").items()}
        out: dict[str, str] = {}
        for route in self.of_type("AWS::ApiGatewayV2::Route").values():
            props = route["Properties"]
            target = props.get("Target")
            integration_id = _integration_ref(target)
            integ = integrations.get(integration_id or "")
            if not integ:
                continue
            fn = _function_from_uri(integ["Properties"].get("IntegrationUri"))
            if fn:
                out[props["RouteKey"]] = fn
        return out

    def websocket_authorizer(self) -> str | None:
        """The function id of the ``$connect`` route's REQUEST authorizer, if it has one."""
        for route in self.of_type("AWS::ApiGatewayV2::Route").values():
            props = route["Properties"]
            if props["RouteKey"] == "$connect" and props.get("AuthorizationType") == "CUSTOM":
                ref = props["AuthorizerId"]
                authorizer = self.resources[ref.value if isinstance(ref, Tag) else ref]
                return _function_from_uri(authorizer["Properties"]["AuthorizerUri"])
        return None

    def websocket_replies(self) -> set[str]:
        """Route keys whose integration's answer is sent back to the caller (they have a route response)."""
        routes = self.of_type("AWS::ApiGatewayV2::Route")
        out = set()
        for rr in self.of_type("AWS::ApiGatewayV2::RouteResponse").values():
            ref = rr["Properties"]["RouteId"]
            route = routes.get(ref.value if isinstance(ref, Tag) else ref)
            if route:
                out.add(route["Properties"]["RouteKey"])
        return out

    def websocket_stage(self) -> str:
        for stage in self.of_type("AWS::ApiGatewayV2::Stage").values():
            return str(stage["Properties"]["StageName"])
        return "live"

    def parameter_defaults(self) -> dict[str, Any]:
        return {k: v.get("Default") for k, v in self.doc.get("Parameters", {}).items()}

    def table_definitions(self) -> dict[str, dict[str, Any]]:
        """create_table kwargs (minus TableName) and the TTL attribute, per table resource."""
        out = {}
        for logical_id, res in self.of_type("AWS::DynamoDB::Table").items():
            p = res["Properties"]
            kwargs: dict[str, Any] = {
                "AttributeDefinitions": p["AttributeDefinitions"], "KeySchema": p["KeySchema"],
                "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if p.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
            if p.get("StreamSpecification"):
                kwargs["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
            ttl = p.get("TimeToLiveSpecification", {})
            out[logical_id] = {"create": kwargs, "ttl": ttl.get("AttributeName") if ttl.get("Enabled") else None}
        return out

    def resolve(self, value: Any, refs: dict[str, Any]) -> Any:
        """Resolve ``!Ref`` of parameters and resources named in ``refs``; other values pass through."""
        if isinstance(value, Tag):
            if value.name == "Ref":
                if value.value in refs:
                    return refs[value.value]
                if value.value in PSEUDO_PARAMETERS:
                    return PSEUDO_PARAMETERS[value.value]()
                defaults = self.parameter_defaults()
                if value.value in defaults:
                    return defaults[value.value]
                raise KeyError(f"cannot resolve !Ref {value.value} locally")
            if value.name == "Sub" and isinstance(value.value, str):
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(self.resolve(Tag("Ref", m.group(1)), refs)),
                              value.value)
            raise KeyError(f"cannot resolve !{value.name} locally")
        return value


def _integration_ref(target: Any) -> str | None:
    # Target: !Join ["/", ["integrations", !Ref SomeIntegration]] or !Sub "integrations/${SomeIntegration}"
    if isinstance(target, Tag):
        if target.name == "Join":
            for part in target.value[1]:
                if isinstance(part, Tag) and part.name == "Ref":
                    return str(part.value)
        if target.name == "Sub" and isinstance(target.value, str) and "${" in target.value:
            return target.value.split("${", 1)[1].split("}", 1)[0]
    return None


def _function_from_uri(uri: Any) -> str | None:
    if isinstance(uri, Tag) and uri.name == "Sub":
        text = uri.value if isinstance(uri.value, str) else uri.value[0]
        for piece in text.split("${")[1:]:
            name = piece.split("}", 1)[0]
            if name.endswith(".Arn"):
                return name[: -len(".Arn")]
    return None
